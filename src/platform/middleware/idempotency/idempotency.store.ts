/**
 * Idempotency-Key bookkeeping (draft-ietf-httpapi-idempotency-key-header-06).
 * A key is scoped to the principal that sent it. The first request claims the
 * key (`pending`, under a fresh claim id). If the request changes anything,
 * its audit batch — the one with its writes and record — also marks the key
 * `committed` (`commitStatements`), so no crash can leave an effect without
 * its key or a key without its effect. The response is stored afterwards
 * (`complete`) and replayed for retries with the same fingerprint.
 *
 * A claim that outlives `pendingSeconds` is therefore one whose request never
 * committed (it crashed, or refused): it is deleted, and the key may be
 * claimed anew, safely. A key committed whose response was never stored (the
 * request crashed between its commit and its answer) is not run again: the
 * retry learns which request carried it out — at once when the server lived
 * to see its own failure (`lost`), after `pendingSeconds` when it died.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { idempotencyAssertions, idempotencyRecords } from '../../db/schema';
import { write, type WriteStatement } from '../../db/statements';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: string }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' }
  /** Carried out by `requestId`, whose response was lost (it crashed after committing). */
  | { kind: 'response_lost'; requestId: string };

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
  const claimId = crypto.randomUUID();
  const [, claim] = await db.batch([
    db.delete(idempotencyRecords).where(lt(idempotencyRecords.expiresAt, now)),
    db
      .insert(idempotencyRecords)
      .values({ principalId, key, fingerprint, state: 'pending', claim: claimId, expiresAt: now + pendingSeconds })
      .onConflictDoNothing(),
  ]);
  if (claim.meta.changes === 1) return { kind: 'claimed', claim: claimId };

  const [existing] = await db
    .select()
    .from(idempotencyRecords)
    .where(and(eq(idempotencyRecords.principalId, principalId), eq(idempotencyRecords.key, key)));
  if (!existing) return { kind: 'in_progress' }; // expired and removed between the two statements: rare, retryable
  if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (existing.state === 'pending') return { kind: 'in_progress' };
  if (existing.state === 'lost') return { kind: 'response_lost', requestId: existing.requestId ?? 'unknown' };
  if (existing.state === 'committed') {
    // Committed moments ago: its response is on its way. Long ago: the request crashed before answering.
    return now - (existing.committedAt ?? 0) < pendingSeconds ? { kind: 'in_progress' } : { kind: 'response_lost', requestId: existing.requestId ?? 'unknown' };
  }
  return {
    kind: 'replay',
    response: { status: existing.status!, headers: JSON.parse(existing.headers ?? '{}'), body: existing.body ?? '' },
  };
}

/** A claim: the key's row as long as it is still this request's. */
const claimed = (principalId: string, key: string, claim: string) =>
  and(eq(idempotencyRecords.principalId, principalId), eq(idempotencyRecords.key, key), eq(idempotencyRecords.claim, claim));

/**
 * For the request's audit batch: marks the claim committed by `requestId`,
 * kept for the TTL, and aborts the batch (`idempotency claim lost`) unless
 * the claim was still pending and still this request's.
 */
export function commitStatements(principalId: string, key: string, claim: string, requestId: string, { now, ttlSeconds }: IdempotencyTimes): WriteStatement[] {
  return [
    write(
      sql`UPDATE ${idempotencyRecords} SET state = 'committed', request_id = ${requestId}, committed_at = ${now}, expires_at = ${now + ttlSeconds}
          WHERE principal_id = ${principalId} AND key = ${key} AND claim = ${claim} AND state = 'pending'`,
    ),
    write(sql`INSERT INTO ${idempotencyAssertions} (actual) VALUES (changes())`),
  ];
}

export async function completeIdempotencyKey(
  db: Database,
  principalId: string,
  key: string,
  claim: string,
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
    .where(claimed(principalId, key, claim));
}

/**
 * After a request that failed on the server side: frees its claim if nothing
 * committed, so the client may retry; if its batch did commit (it failed
 * after), marks the key `lost`, so a retry learns at once that it was done.
 */
export async function settleFailedIdempotencyKey(db: Database, principalId: string, key: string, claim: string): Promise<void> {
  await db.batch([
    db.delete(idempotencyRecords).where(and(claimed(principalId, key, claim), eq(idempotencyRecords.state, 'pending'))),
    db
      .update(idempotencyRecords)
      .set({ state: 'lost' })
      .where(and(claimed(principalId, key, claim), eq(idempotencyRecords.state, 'committed'))),
  ]);
}
