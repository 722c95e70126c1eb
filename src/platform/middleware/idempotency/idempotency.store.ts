/**
 * Idempotency-Key bookkeeping (draft-ietf-httpapi-idempotency-key-header-06).
 * A key is scoped to the principal that sent it. The first request claims the
 * key (`pending`); its response is stored (`complete`) and replayed for
 * retries with the same fingerprint. Claims that outlive `pendingSeconds`
 * (a crashed request) and records past their TTL are deleted, so the key may
 * be claimed anew.
 */
import { and, eq, lt } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { idempotencyRecords } from '../../db/schema';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type ClaimOutcome =
  | { kind: 'claimed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

export interface IdempotencyTimes {
  now: number;
  ttlSeconds: number;
  pendingSeconds: number;
}

export async function claimIdempotencyKey(
  db: Database,
  principalId: string,
  key: string,
  fingerprint: string,
  { now, pendingSeconds }: IdempotencyTimes,
): Promise<ClaimOutcome> {
  // Expired records go first, in the same atomic batch: a stale claim never blocks its key.
  const [, claim] = await db.batch([
    db.delete(idempotencyRecords).where(lt(idempotencyRecords.expiresAt, now)),
    db
      .insert(idempotencyRecords)
      .values({ principalId, key, fingerprint, state: 'pending', expiresAt: now + pendingSeconds })
      .onConflictDoNothing(),
  ]);
  if (claim.meta.changes === 1) return { kind: 'claimed' };

  const [existing] = await db
    .select()
    .from(idempotencyRecords)
    .where(and(eq(idempotencyRecords.principalId, principalId), eq(idempotencyRecords.key, key)));
  if (!existing) return { kind: 'in_progress' }; // expired and removed between the two statements: rare, retryable
  if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (existing.state === 'pending') return { kind: 'in_progress' };
  return {
    kind: 'replay',
    response: { status: existing.status!, headers: JSON.parse(existing.headers ?? '{}'), body: existing.body ?? '' },
  };
}

export async function completeIdempotencyKey(
  db: Database,
  principalId: string,
  key: string,
  response: StoredResponse,
  { now, ttlSeconds }: IdempotencyTimes,
): Promise<void> {
  await db
    .update(idempotencyRecords)
    .set({
      state: 'complete',
      status: response.status,
      headers: JSON.stringify(response.headers),
      body: response.body,
      expiresAt: now + ttlSeconds,
    })
    .where(and(eq(idempotencyRecords.principalId, principalId), eq(idempotencyRecords.key, key)));
}

/** Frees a claim whose request failed on the server side, so the client may retry. */
export async function releaseIdempotencyKey(db: Database, principalId: string, key: string): Promise<void> {
  await db
    .delete(idempotencyRecords)
    .where(
      and(
        eq(idempotencyRecords.principalId, principalId),
        eq(idempotencyRecords.key, key),
        eq(idempotencyRecords.state, 'pending'),
      ),
    );
}
