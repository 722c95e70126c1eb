/**
 * Emulator mode on the request path. `emulatorRuntime` (every request) reads
 * the emulator's state once, sets the server clock from it, and records the
 * exchange for the recorder; it also applies the faults that act on the whole
 * instance (a swapped bootstrap key, a store rolled back). It also installs this
 * request's platform hooks (platform/request-hooks.ts): the fault rules that
 * fire around each /v1 route. It does nothing — not even a read — when
 * emulator mode is off, as it is in every deployment.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { setClockOffset, nowIso } from '../platform/clock';
import { requestPath } from '../platform/http/paths';
import { problemResponse } from '../platform/http/problem';
import type { ProblemCode } from '../lib/problems';
import { firingRules, INSTANCE_FAULTS, spend, type FaultRule } from './faults';
import { restoreStore } from './store-copy';
import { bootstrapWithSwap, INTEGRITY_FAULTS, lie, type IntegrityFault } from './integrity-faults';
import { record, redactBody, redactHeaders } from './recorder';
import { emulatorEnabled } from '../platform/emulator-mode';
import { loadEmulatorState, replaceFaults, type EmulatorState } from './state';
import type { RequestHooks } from '../platform/request-hooks';
import { actingPrincipal } from './acting-as';
import type { AppendEffects } from '../audit/log/extensions';

/** Bodies larger than this are not copied for the recorder. */
const MAX_RECORDED_REQUEST_BYTES = 2 * 1024 * 1024;

export function emulatorRuntime(): MiddlewareHandler<AppEnv> {
  return async function emulatorRuntimeMiddleware(c, next) {
    if (!emulatorEnabled(c.env)) return next();
    let state = await loadEmulatorState(c.env.DB);
    // A rollback-store rule that fires: the provider restores its backup before this request is served.
    const rollback = firingRules(
      state.faults.filter((r) => r.kind === 'rollback-store'),
      c.req.method,
      requestPath(c),
    );
    if (rollback.length > 0 && (await replaceFaults(c.env.DB, state, spend(state.faults, rollback)))) {
      await restoreStore(c.env);
      state = await loadEmulatorState(c.env.DB);
    }
    setClockOffset(state.clockOffsetMs);
    c.set('emulator', state);
    c.set('hooks', faultHooks(state));
    // A swap-bootstrap-key rule: this request runs under the swapped key, as after `wrangler secret put`.
    const bootstrap = bootstrapWithSwap(c.env.BOOTSTRAP_ADMIN_JWK, state.faults);
    if (bootstrap !== c.env.BOOTSTRAP_ADMIN_JWK) c.env = { ...c.env, BOOTSTRAP_ADMIN_JWK: bootstrap };
    const started = performance.now();
    const startedAt = nowIso();
    const length = Number(c.req.header('Content-Length') ?? 0);
    const requestType = c.req.header('Content-Type') ?? null;
    // Bytes (binary contents) are not kept, so not read either: their size is all the recorder says of them.
    const requestBody = c.req.raw.body && length <= MAX_RECORDED_REQUEST_BYTES && !isBinary(requestType) ? await c.req.raw.clone().text() : '';
    await next();
    // The recorder shows the API as a client used it, not the controls that drove the emulator.
    if (new URL(c.req.url).pathname.startsWith('/_emulator')) return;
    const response = c.res;
    const responseType = response.headers.get('Content-Type');
    // A stream is not read to its end here; everything else is small enough to keep a copy of.
    const responseBody = responseType?.startsWith('text/event-stream') || isBinary(responseType) ? '' : await response.clone().text();
    record({
      startedAt,
      durationMs: Math.round(performance.now() - started),
      method: c.req.method,
      url: new URL(c.req.url).pathname + new URL(c.req.url).search,
      status: response.status,
      request: {
        headers: redactHeaders(c.req.raw.headers),
        body: isBinary(requestType) ? binaryNote(length, requestType) : redactBody(requestBody, requestType),
        contentType: requestType,
      },
      response: {
        headers: redactHeaders(response.headers),
        body: isBinary(responseType) ? binaryNote((await response.clone().arrayBuffer()).byteLength, responseType) : redactBody(responseBody, responseType),
        contentType: responseType,
      },
      audit: response.headers.get('Custodes-Audit'),
      requestId: c.get('requestId') ?? null,
    });
  };
}

const INJECTED: Record<429 | 500 | 503, ProblemCode> = { 429: 'rate_limited', 500: 'internal_error', 503: 'service_unavailable' };

/**
 * The fault rules (faults.ts) as this request's platform hooks
 * (platform/request-hooks.ts): around each route, the rules that match fire —
 * latency, a problem answer (recorded like any failure), a failing audit
 * batch (an append effect: ./log-faults.ts), a crash after the commit, a
 * dishonest rewrite of the honest answer (integrity-faults.ts).
 */
function faultHooks(state: EmulatorState): RequestHooks {
  const appendEffects: AppendEffects = {};
  let crashAfterCommit = false;
  return {
    appendEffects,
    actingPrincipal,
    afterCommit() {
      // The fault strikes between the record's batch and its notices: the outbox rows it left are what a restart finishes.
      if (crashAfterCommit) throw new Error('emulated crash after commit (fault rule crash-after-commit)');
    },
    async aroundRoute(c, next) {
      if (state.faults.length === 0) return next();
      const fired = firingRules(
        state.faults.filter((r) => !INSTANCE_FAULTS.includes(r.kind)),
        c.req.method,
        requestPath(c),
      );
      if (fired.length === 0) return next();
      // A counted rule is spent by compare-and-set: under concurrency a `times: 1` rule fires exactly once.
      if (fired.some((rule) => rule.times !== undefined) && !(await replaceFaults(c.env.DB, state, spend(state.faults, fired)))) return next();
      let integrity: Extract<FaultRule, { kind: IntegrityFault }> | null = null;
      for (const rule of fired) {
        if ((INTEGRITY_FAULTS as readonly string[]).includes(rule.kind)) integrity = rule as Extract<FaultRule, { kind: IntegrityFault }>;
        if (rule.kind === 'latency') await new Promise((resolve) => setTimeout(resolve, rule.ms));
        if (rule.kind === 'audit-batch') appendEffects.failBatch = true;
        if (rule.kind === 'crash-after-commit') crashAfterCommit = true;
        if (rule.kind === 'problem') {
          const retry: Record<string, string> = rule.status === 500 ? {} : { 'Retry-After': '1' };
          return problemResponse(c, INJECTED[rule.status], `Injected by the emulator (fault rule for \`${rule.route}\`).`, { injected: true }, retry);
        }
      }
      await next();
      // The honest answer, rewritten as a dishonest provider would (integrity-faults.ts).
      if (integrity) c.res = await lie(c, integrity, c.res);
    },
  };
}

const isBinary = (contentType: string | null): boolean => contentType?.startsWith('application/octet-stream') ?? false;
const binaryNote = (bytes: number, contentType: string | null): string => `[${bytes} bytes of ${contentType} not kept]`;
