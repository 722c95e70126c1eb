/**
 * Idempotency-Key bookkeeping (draft-ietf-httpapi-idempotency-key-header-06).
 * A key is scoped to the principal that sent it.
 *
 * The key is taken in the request's own audit batch — the one with its writes
 * and record (`commitStatements`): the row is written `committed`, and the
 * batch aborts (`idempotency claim lost`) if a live row holds the key already.
 * So no crash can leave an effect without its key or a key without its
 * effect, and a first request pays no round trip of its own for the key (a
 * claim batch before the handler cost an SDK create half its CPU: issue 34).
 * The response is stored afterwards (`complete`) and replayed for retries.
 *
 * A request that commits nothing stores its answer under the key once it has
 * one (`storeAnswer`): a failure is replayed like a success, so a retry cannot
 * change the outcome. When the key is live already — a retry, or a request
 * that lost the race for the key — the row answers instead (`answerOf`): the
 * stored response, a mismatch, a request still in flight, or one whose
 * response was lost (it crashed between its commit and its answer; it is not
 * run again: the retry learns which request carried it out — at once when the
 * server lived to see its own failure (`lost`), after `pendingSeconds` when it
 * died). Rows expire after the TTL; an expired row is replaced by the next
 * request that takes its key.
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

/** What a live row says to a request that did not take the key itself. */
export type KeyAnswer =
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' }
  /** Carried out by `requestId`, whose response was lost (it crashed after committing). */
  | { kind: 'response_lost'; requestId: string }
  /** No live row: the key is free (the row expired, or its request never committed). */
  | { kind: 'free' };

export interface IdempotencyTimes {
  now: number;
  ttlSeconds: number;
  /** How long a committed key's response may take to be stored before it is taken as lost. */
  pendingSeconds: number;
}

/**
 * The key taken by `requestId` unless a live row holds it: a new row, or one replacing an expired row. `committed`
 * (its response stored later), or `complete` with `response`.
 */
function takeKey(principalId: string, key: string, fingerprint: string, requestId: string, now: number, ttlSeconds: number, response?: StoredResponse) {
  const [state, status, headers, body] = response
    ? ['complete', response.status, JSON.stringify(response.headers), response.body]
    : ['committed', null, null, null];
  return sql`INSERT INTO ${idempotencyRecords} (principal_id, key, fingerprint, state, claim, request_id, committed_at, status, headers, body, expires_at)
      VALUES (${principalId}, ${key}, ${fingerprint}, ${state}, NULL, ${requestId}, ${now}, ${status}, ${headers}, ${body}, ${now + ttlSeconds})
      ON CONFLICT (principal_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = excluded.state, claim = NULL,
        request_id = excluded.request_id, committed_at = excluded.committed_at, status = excluded.status, headers = excluded.headers,
        body = excluded.body, expires_at = excluded.expires_at
      WHERE ${idempotencyRecords.expiresAt} <= ${now}`;
}

/**
 * For the request's audit batch: takes the key for `requestId`, `committed`, kept for the TTL; aborts the batch
 * (`idempotency claim lost`) when a live row holds it — a retry, or another request with the key that committed first.
 */
export function commitStatements(
  principalId: string,
  key: string,
  fingerprint: string,
  requestId: string,
  { now, ttlSeconds }: IdempotencyTimes,
): WriteStatement[] {
  return [
    write(takeKey(principalId, key, fingerprint, requestId, now, ttlSeconds)),
    write(sql`INSERT INTO ${idempotencyAssertions} (actual) VALUES (changes())`),
  ];
}

/** This request's row, once its batch committed it. */
const ownRow = (principalId: string, key: string, requestId: string) =>
  and(eq(idempotencyRecords.principalId, principalId), eq(idempotencyRecords.key, key), eq(idempotencyRecords.requestId, requestId));

/** Stores the response of the request whose batch took the key; expired rows go in the same batch. */
export async function completeIdempotencyKey(
  db: Database,
  principalId: string,
  key: string,
  requestId: string,
  response: StoredResponse,
  { now, ttlSeconds }: IdempotencyTimes,
): Promise<void> {
  await db.batch([
    db
      .update(idempotencyRecords)
      .set({ state: 'complete', status: response.status, headers: JSON.stringify(response.headers), body: response.body, expiresAt: now + ttlSeconds })
      .where(and(ownRow(principalId, key, requestId), eq(idempotencyRecords.state, 'committed'))),
    db.delete(idempotencyRecords).where(lt(idempotencyRecords.expiresAt, now)),
  ]);
}

/**
 * The answer of a request that committed nothing, stored under the key unless a live row holds it; `stored: false`
 * then, and the row answers (`answerOf`).
 */
export async function storeAnswer(
  db: Database,
  principalId: string,
  key: string,
  fingerprint: string,
  requestId: string,
  response: StoredResponse,
  times: IdempotencyTimes,
): Promise<{ stored: true } | { stored: false; answer: KeyAnswer }> {
  const { now, ttlSeconds } = times;
  const taken = await db.run(takeKey(principalId, key, fingerprint, requestId, now, ttlSeconds, response));
  if (taken.meta.changes === 1) return { stored: true };
  return { stored: false, answer: await answerOf(db, principalId, key, fingerprint, times) };
}

/** What the key's live row says to a request with `fingerprint` that did not take the key. */
export async function answerOf(
  db: Database,
  principalId: string,
  key: string,
  fingerprint: string,
  { now, pendingSeconds }: IdempotencyTimes,
): Promise<KeyAnswer> {
  const [row] = await db
    .select()
    .from(idempotencyRecords)
    .where(and(eq(idempotencyRecords.principalId, principalId), eq(idempotencyRecords.key, key)));
  if (!row || row.expiresAt <= now) return { kind: 'free' };
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (row.state === 'lost') return { kind: 'response_lost', requestId: row.requestId ?? 'unknown' };
  // `pending` is an earlier version's claim, live for at most `pendingSeconds` after an upgrade.
  if (row.state === 'committed' || row.state === 'pending' || row.status === null) {
    // Committed moments ago: its response is on its way. Long ago: the request crashed before answering.
    return now - (row.committedAt ?? 0) < pendingSeconds ? { kind: 'in_progress' } : { kind: 'response_lost', requestId: row.requestId ?? 'unknown' };
  }
  return { kind: 'replay', response: { status: row.status, headers: JSON.parse(row.headers ?? '{}'), body: row.body ?? '' } };
}

/** After a request that failed on the server side after its batch took the key: the key is marked `lost`, so a retry learns at once that it was done. */
export async function markKeyLost(db: Database, principalId: string, key: string, requestId: string): Promise<void> {
  await db
    .update(idempotencyRecords)
    .set({ state: 'lost' })
    .where(and(ownRow(principalId, key, requestId), eq(idempotencyRecords.state, 'committed')));
}
