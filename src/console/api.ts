/**
 * Calls to the API from the page: a fresh token per request, minted here
 * with the loaded key (session.ts), and every failure as the problem the
 * server answered — title, code and request id — never a bare status.
 */
import { h } from './dom';
import { followServerClock, type Session } from './session';
import { emulatedClockOffset, refusedForItsTime } from '../sdk/emulated-clock';

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly code: string,
    readonly requestId: string,
    readonly detail: string,
  ) {
    super(`${title} (${code})`);
  }
}

/** The emulator's clock, when it says it was moved: tokens are then minted on it (sdk/emulated-clock.ts, as the SDK's client does). */
async function followEmulatedClock(): Promise<boolean> {
  const offset = await emulatedClockOffset(fetch, location.href);
  if (offset === null) return false;
  followServerClock(offset);
  return true;
}

/** `token`: one the caller minted (to know its `jti`); else a fresh one. */
export async function call<T>(
  session: Session,
  method: string,
  path: string,
  options: { body?: unknown; text?: boolean; token?: string } = {},
  retried = false,
): Promise<T> {
  const token = options.token ?? (await session.token());
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  // A token refused for its time by an emulator whose clock moved: once more, on the emulator's clock (the refused token did nothing).
  if (!retried && !options.token && (await refusedForItsTime(response)) && (await followEmulatedClock())) {
    return call<T>(session, method, path, options, true);
  }
  if (!response.ok) {
    const requestId = response.headers.get('X-Request-Id') ?? '';
    let problem: { title?: string; code?: string; detail?: string; requestId?: string } = {};
    try {
      problem = await response.json();
    } catch {
      // not problem+json: reported by its status
    }
    throw new ProblemError(
      response.status,
      problem.title ?? response.statusText,
      problem.code ?? `http_${response.status}`,
      problem.requestId ?? requestId,
      problem.detail ?? '',
    );
  }
  return (options.text ? await response.text() : await response.json()) as T;
}

/** What a failure shows: the problem's title, code and request id (an alert, so screen readers announce it). */
export function problemBox(error: unknown): HTMLElement {
  if (error instanceof ProblemError) {
    return h(
      'div',
      { class: 'problem', role: 'alert' },
      h('strong', {}, error.title),
      h('div', {}, 'code ', h('code', {}, error.code), ' · status ', String(error.status), ' · request id ', h('code', {}, error.requestId || 'none')),
      error.detail ? h('p', {}, error.detail) : null,
    );
  }
  return h('div', { class: 'problem', role: 'alert' }, h('strong', {}, 'Error'), h('p', {}, (error as Error).message ?? String(error)));
}

/** Runs a decision (approve, deny…): its outcome, or its problem, in `outcome`; then the view again. */
export async function decideThen(outcome: Element, decision: () => Promise<string>, render: () => Promise<void>): Promise<void> {
  try {
    outcome.replaceChildren(h('p', { role: 'status', class: 'verdict ok' }, await decision()));
    await render();
  } catch (error) {
    outcome.replaceChildren(problemBox(error));
  }
}
