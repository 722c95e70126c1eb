/**
 * Every /v1 request leaves exactly one signed audit record (docs/design.md §5).
 *
 * `auditScope` (per route, before authentication) names the action and picks
 * the target and log (./log-routing.ts), so even a refused request is recorded
 * under the right action. A handler whose request changes data calls
 * `audit.commit(writes)`: the writes and the record commit together
 * (./request-audit.ts). If the handler did not commit, `auditRequests` records
 * the response after it is formed and before it is sent. Either way the record
 * is covered by a signed checkpoint before the client sees the response; if it
 * cannot be written, the response is withheld.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { REPLAY_CHALLENGE } from '../../auth/middleware';
import { MAX_PATH_CHARS } from '../../platform/http/limits';
import { requestPath } from '../../platform/http/paths';
import { problemResponse } from '../../platform/http/problem';
import { enterTimingPhase } from '../../platform/middleware/server-timing';
import type { AuditedAction } from '../actions';
import { sealReceipt } from '../log/receipts';
import { ensureSigningKeyRegistered, UnapprovedAuditKey } from '../signing/audit-key-registry';
import { homeLog, routeLog } from './log-routing';
import { AuditedRequest, type LateRefusal } from './request-audit';
import type { Recorded } from './types';

/** Response header naming the record a request produced: `log=<log>; index=<n>`, or `receipt=…`. */
export const AUDIT_HEADER = 'Custodes-Audit';

/** The answer to a token its request's audit batch refused (already used, or its key changed meanwhile). */
export const refusedResponse = (c: Context<AppEnv>, reason: LateRefusal) =>
  reason === 'replay'
    ? problemResponse(c, 'token_replayed', 'This token was already used; mint a new token for every request.', undefined, {
        'WWW-Authenticate': REPLAY_CHALLENGE,
      })
    : problemResponse(c, 'token_key_unknown', "The token's key was revoked or changed while this request ran; nothing was done.", undefined, {
        'WWW-Authenticate': 'Bearer realm="custodes", error="invalid_token", error_description="token_key_unknown"',
      });

/** `log=…; index=…` for a caller who may read the log; otherwise a sealed receipt (audit/log/receipts.ts). */
async function auditHeader(c: Context<AppEnv>, recorded: Recorded): Promise<string> {
  if ('index' in recorded && homeLog(c.get('principal')) === recorded.log) return `log=${recorded.log}; index=${recorded.index}`;
  return `receipt=${await sealReceipt(c.env.AUDIT_SIGNING_JWK!, recorded)}`;
}

export function auditRequests(): MiddlewareHandler<AppEnv> {
  return async function auditRequestsMiddleware(c, next) {
    const audit = new AuditedRequest(c);
    c.set('audit', audit);
    try {
      await ensureSigningKeyRegistered(c.env, { requestId: c.get('requestId'), request: { method: c.req.method, path: audit.path } });
    } catch (error) {
      // Fail closed: a key no second admin approved signs nothing, so nothing is served.
      if (!(error instanceof UnapprovedAuditKey)) throw error;
      c.res = problemResponse(c, 'audit_unavailable', error.message);
      return;
    }
    if (requestPath(c).length > MAX_PATH_CHARS) {
      // Refused before routing: the record keeps a bounded prefix of the path.
      c.res = problemResponse(c, 'uri_too_long', `Request paths are limited to ${MAX_PATH_CHARS} characters.`, { maxChars: MAX_PATH_CHARS });
    } else {
      await next();
    }
    enterTimingPhase(c, 'record');
    if (!audit.recorded) {
      try {
        const { refused } = await audit.recordResponse(c.res.status, c.get('problemCode') ?? null);
        if (refused) c.res = refusedResponse(c, refused);
      } catch (error) {
        // No record, no response: a read must not escape the log.
        console.error(`[${c.get('requestId')}] audit append failed`, error);
        c.res = problemResponse(c, 'audit_unavailable', 'The audit log could not record this request; nothing was returned. Retry.');
        return;
      }
    }
    c.res.headers.set(AUDIT_HEADER, await auditHeader(c, audit.recorded!));
  };
}

/** Names the route's action, and its record's target and log from the path parameters. */
export function auditScope({ action }: { action: AuditedAction }): MiddlewareHandler<AppEnv> {
  return async function auditScopeMiddleware(c, next) {
    const audit = c.get('audit');
    audit.action = action;
    Object.assign(audit, await routeLog(c.env.DB, c.req.param() as Record<string, string | undefined>));
    return next();
  };
}
