/**
 * One append to a bench floor's log (bench/baseline-worker.ts `/design-floor`,
 * bench/shard-worker.ts): the record signed, its leaf put in the tree, a
 * checkpoint signed, and everything committed in ONE D1 batch with the head's
 * guarded update — the API's own log code (audit/format, audit/log/log-store)
 * and nothing else of its sequencer (no group commit, no extensions), so a
 * floor measures what docs/design.md §5 costs, not what the API adds.
 */
import { signCheckpoint } from '../src/audit/format/checkpoint';
import { appendLeaf, EMPTY_ROOT, frontierRoot, leafHash, type Frontier } from '../src/audit/format/merkle';
import { signRecord, type AuditRecord } from '../src/audit/format/record';
import { headStatements, loadHead, recordStatements } from '../src/audit/log/log-store';
import type { AuditSigningKey } from '../src/audit/signing/signing-key';

/** An allowed request's record at `head`'s next index of `log`, timed now with a fresh request id: what a floor signs. */
export function floorRecord(log: string, head: Frontier, fields: Pick<AuditRecord, 'actor' | 'action' | 'target' | 'request' | 'regions'>): AuditRecord {
  return {
    v: 1,
    log,
    index: head.size,
    time: new Date().toISOString(),
    requestId: `req_${crypto.randomUUID()}`,
    outcome: 'allowed',
    reason: null,
    ...fields,
  };
}

/** The frontier of `log` as its D1 rows hold it (its head created if the log is new). */
export async function floorHead(db: D1Database, log: string, key: AuditSigningKey): Promise<Frontier> {
  return (await loadHead(db, log, await signCheckpoint(log, 0, EMPTY_ROOT, key))).frontier;
}

/**
 * Commits `record` (its `index` is `head.size`) after `before` and followed by `after`, the record's rows between
 * them, the head last; the new frontier, the record's JWS and every statement's result, in order.
 */
export async function commitFloorRecord<T = unknown>(
  db: D1Database,
  key: AuditSigningKey,
  head: Frontier,
  record: AuditRecord,
  before: D1PreparedStatement[],
  after: D1PreparedStatement[] = [],
): Promise<{ jws: string; frontier: Frontier; results: D1Result<T>[] }> {
  const { jws, payload } = await signRecord(record, key);
  const step = appendLeaf(head, leafHash(payload));
  const root = frontierRoot(step.frontier);
  const checkpoint = await signCheckpoint(record.log, step.frontier.size, root, key);
  const results = await db.batch<T>([
    ...before,
    ...recordStatements(db, record, jws, step.completed),
    ...after,
    ...headStatements(db, record.log, head.size, step.frontier, root, checkpoint, record.time),
  ]);
  return { jws, frontier: step.frontier, results };
}
