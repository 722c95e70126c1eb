/**
 * Puts this deployment on the record (statement.ts): once per isolate,
 * before the first /v1 request it serves is recorded, a `deployment.statement`
 * record in the provider log unless the last one already says exactly this
 * build and configuration. Two isolates starting together may both write one;
 * both say the same, and a verifier reports only changes.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Env } from '../../env';
import { appendToLog } from '../log/append';
import { PROVIDER_LOG } from '../log/logs';
import { ensureSigningKeyRegistered } from '../signing/audit-key-registry';
import { registerIsolateCache } from '../../platform/isolate-caches';
import { emulatedClock } from '../request/request-audit';
import { jwsPayload } from '../format/jws';
import { currentDeployment } from './statement';
import { deploymentChanges, type DeploymentStatement } from './changes';

/** The statements in the provider log, oldest first, each with its record. */
export async function deploymentStatements(env: Env): Promise<{ index: number; jws: string; statement: DeploymentStatement }[]> {
  const { results } = await env.DB.prepare('SELECT idx AS "index", jws FROM audit_records WHERE log = ? AND action = \'deployment.statement\' ORDER BY idx')
    .bind(PROVIDER_LOG)
    .all<{ index: number; jws: string }>();
  return results.map((r) => ({ ...r, statement: jwsPayload<{ details: DeploymentStatement }>(r.jws).details }));
}

/** Appends a statement when the build or configuration is not the last one on record; answers its index, or null. */
export async function recordDeployment(env: Env, requestId: string): Promise<number | null> {
  const current = await currentDeployment(env);
  const row = await env.DB.prepare("SELECT jws FROM audit_records WHERE log = ? AND action = 'deployment.statement' ORDER BY idx DESC LIMIT 1")
    .bind(PROVIDER_LOG)
    .first<{ jws: string }>();
  const last = row ? jwsPayload<{ details: DeploymentStatement }>(row.jws).details : null;
  if (last && last.build === current.build && last.config === current.config) return null;
  const request = { method: 'NONE', path: '' };
  await ensureSigningKeyRegistered(env, { requestId, request });
  const result = await appendToLog(env, PROVIDER_LOG, {
    requestId,
    actor: { type: 'system', id: 'custodes', kid: null, jti: null, ip: null },
    action: 'deployment.statement',
    target: null,
    outcome: 'allowed',
    reason: deploymentChanges(last, current).join('; ').slice(0, 1024) || null,
    request,
    details: current,
    ...emulatedClock(),
  });
  if (!result.ok) throw new Error(`the deployment statement was refused: ${result.message}`);
  return result.auditIndex;
}

/** Per isolate, by the configuration that can change under it (the emulator's swapped bootstrap key). */
const stated = new Map<string, Promise<unknown>>();
registerIsolateCache(() => stated.clear()); // an emulator reset empties the log: state it again

export function deploymentOnRecord(): MiddlewareHandler<AppEnv> {
  return async function deploymentOnRecordMiddleware(c, next) {
    const key = c.env.BOOTSTRAP_ADMIN_JWK ?? '';
    let once = stated.get(key);
    if (!once) {
      once = recordDeployment(c.env, c.get('requestId')).catch((error: unknown) => {
        stated.delete(key); // the next request tries again
        console.error(`[${c.get('requestId')}] deployment statement:`, error);
      });
      stated.set(key, once);
    }
    await once;
    return next();
  };
}
