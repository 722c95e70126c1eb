/**
 * What the page shows of the API's answers: every failure as the problem the
 * server answered — title, code, status and request id — never a bare
 * status. The calls themselves go through the SDK's typed client
 * (`session.api`, sdk/client.ts), which raises `CustodesApiError`.
 */
import { h } from './dom';
import { CustodesApiError } from '../sdk/errors';

/** What a failure shows: the problem's title, code and request id (an alert, so screen readers announce it). */
export function problemBox(error: unknown): HTMLElement {
  if (error instanceof CustodesApiError) {
    const { title, code, status, requestId, detail } = error.problem as { title: string; code: string; status: number; requestId?: string; detail?: string };
    return h(
      'div',
      { class: 'problem', role: 'alert' },
      h('strong', {}, title),
      h('div', {}, 'code ', h('code', {}, code), ' · status ', String(status), ' · request id ', h('code', {}, requestId || 'none')),
      detail ? h('p', {}, detail) : null,
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
