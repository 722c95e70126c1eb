/**
 * Whether a live stream's holder may still read its log (issue 29): a stream
 * must not outlive the authority that opened it. The holder's key must still
 * name the same principal of the log's tenant (a revoked toolstack's or a
 * deleted tenant's key names none), a toolstack's ceiling must still hold
 * `audit:read`. (Expiry is the fan-out's: it ends such a stream as
 * `token_expired`, not `revoked`.) Read from D1, never from
 * the isolate's key cache: a revocation is seen at the next check.
 */
import type { Env } from '../../env';
import { findRegisteredKey } from '../../auth/principals';
import { createDb } from '../../platform/db/client';
import type { AuthorityCheck, StreamAuthority } from './fan-out';

export function streamAuthorityCheck(env: Env, log: string): AuthorityCheck {
  const tenant = log.startsWith('tenants/') ? log.slice('tenants/'.length) : null;
  return async function stillAuthorized(authorities: StreamAuthority[]) {
    const db = createDb(env.DB);
    const still = new Set<string>();
    const byKid = new Map(authorities.map((a) => [a.kid, a]));
    await Promise.all(
      [...byKid.values()].map(async ({ kid, principal }) => {
        const key = await findRegisteredKey(db, env.BOOTSTRAP_ADMIN_JWK, kid);
        if (!key || key.id !== principal || key.tenant !== tenant) return;
        if (key.type === 'toolstack' && !key.ceiling?.scopes.includes('audit:read')) return;
        still.add(principal);
      }),
    );
    return still;
  };
}
