/**
 * Single use of token ids (RFC 8725 §3.10, DESIGN §2). A `jti` is remembered
 * until its token expires, then forgotten: the expired token is refused by
 * `exp` anyway, so the table stays as small as the set of live tokens.
 */
import { lt } from 'drizzle-orm';
import type { Database } from '../db/client';
import { tokenReplays } from '../db/schema';

/** True when `jti` was unused (and is now used); false on a replay. */
export async function claimTokenId(
  db: Database,
  principalId: string,
  jti: string,
  expiresAt: number,
  now: number = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  const [, inserted] = await db.batch([
    db.delete(tokenReplays).where(lt(tokenReplays.expiresAt, now)),
    db.insert(tokenReplays).values({ principalId, jti, expiresAt }).onConflictDoNothing(),
  ]);
  return inserted.meta.changes === 1;
}
