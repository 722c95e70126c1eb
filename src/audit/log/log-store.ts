/**
 * A log's rows in D1, as its sequencer (./sequencer.ts) writes and reads them:
 * the head (`audit_logs`: size, root, frontier, the latest signed checkpoint),
 * each record (`audit_records`) and the tree's completed nodes (`audit_nodes`,
 * RFC 9162 §2.1: what proofs are served from). The head's update is guarded on
 * the size it was read at, so a batch built on a stale head commits nothing.
 */
import { ASCII_NOTE_SQL, asciiNote, expectChanges, type WriteStatement } from './commit';
import { EMPTY_ROOT, equalHashes, type Frontier, type Hash, type StoredNode } from '../format/merkle';
import { sessionOf, type AuditRecord } from '../format/record';
import { hexOf, hexToBytes } from '../../lib/bytes';

export interface StoredHead {
  frontier: Frontier;
  /** The latest signed checkpoint's note. */
  checkpoint: string;
}

/** The head of `log`, created (with `emptyCheckpoint`, the signed checkpoint of the empty tree) if the log is new. */
export async function loadHead(db: D1Database, log: string, emptyCheckpoint: string): Promise<StoredHead> {
  const created = emptyHeadWrite(log, emptyCheckpoint);
  await db
    .prepare(created.sql)
    .bind(...created.params)
    .run();
  const row = await db
    .prepare('SELECT size, frontier, checkpoint FROM audit_logs WHERE log = ?')
    .bind(log)
    .first<{ size: number; frontier: string; checkpoint: string }>();
  if (!row) throw new Error(`the head of ${log} vanished as it was created`);
  return { frontier: { size: row.size, hashes: (JSON.parse(row.frontier) as string[]).map(hexToBytes) }, checkpoint: row.checkpoint };
}

/** The head of a new log, at size 0 under the signed checkpoint of the empty tree; nothing if the log has a head already. */
export const emptyHeadWrite = (log: string, emptyCheckpoint: string): WriteStatement => ({
  sql: 'INSERT INTO audit_logs (log, size, root, frontier, checkpoint, updated_at) VALUES (?, 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  params: [log, hexOf(EMPTY_ROOT), '[]', emptyCheckpoint, new Date().toISOString()],
});

export const sameFrontier = (a: Frontier, b: Frontier): boolean =>
  a.size === b.size && a.hashes.length === b.hashes.length && a.hashes.every((h, i) => equalHashes(h, b.hashes[i]!));

/** A signed record and the tree nodes its leaf completed. */
export function recordStatements(db: D1Database, record: AuditRecord, jws: string, completed: StoredNode[]): D1PreparedStatement[] {
  const values = completed.map(() => '(?, ?, ?, ?)').join(', ');
  return [
    db
      .prepare('INSERT INTO audit_records (log, idx, jws, time, action, actor_id, outcome, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .bind(record.log, record.index, jws, record.time, record.action, record.actor.id, record.outcome, sessionOf(record.actor)),
    db
      .prepare(`INSERT INTO audit_nodes (log, level, idx, hash) VALUES ${values}`)
      .bind(...completed.flatMap((n) => [record.log, n.level, n.index, hexOf(n.hash)])),
  ];
}

/** The head moved from `fromSize` to `frontier`, its checkpoint signed: aborts the batch unless the head was still at `fromSize`. */
export function headStatements(
  db: D1Database,
  log: string,
  fromSize: number,
  frontier: Frontier,
  root: Hash,
  checkpoint: string,
  time: string,
): D1PreparedStatement[] {
  const assertion = expectChanges('audit head');
  return [
    db
      .prepare(`UPDATE audit_logs SET size = ?, root = ?, frontier = ?, checkpoint = ${ASCII_NOTE_SQL}, updated_at = ? WHERE log = ? AND size = ?`)
      .bind(frontier.size, hexOf(root), JSON.stringify(frontier.hashes.map(hexOf)), asciiNote(checkpoint), time, log, fromSize),
    db.prepare(assertion.sql).bind(...assertion.params),
  ];
}
