/**
 * Replay (docs/design.md §6): the whole history re-authorized under a patch — "this
 * principal was revoked from time t" — to see what the world would hold had
 * the patch been in force. Unlike undo it does not follow sessions: a
 * legitimate action that read data which no longer exists under the patch
 * keeps its writes (the tenant's client computed them; the server cannot
 * recompute them), and is reported as a conflict for the tenant to review.
 *
 * Replay reads every record of the log, O(history), by design: it is the
 * reference that undo, O(footprint), is measured against.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../platform/db/client';
import { versionKey, type VersionRef } from '../taint/taint';

export interface Patch {
  revoke: { principal: string; from: string }[];
}

export interface HistoryAction {
  auditIndex: number;
  time: string;
  actorId: string | null;
  session: string | null;
  outcome: string;
  reads: VersionRef[];
  writes: (VersionRef & { copyOf: number | null })[];
}

export interface Conflict {
  auditIndex: number;
  actor: string | null;
  session: string | null;
  /** What the action read (or copied) that does not exist under the patch. */
  missing: VersionRef[];
}

export interface ReplayOutcome {
  /** Allowed actions the patch denies. */
  outcomeChanges: number[];
  /** Versions that do not exist under the patch. */
  removed: VersionRef[];
  conflicts: Conflict[];
}

/** Runs the history in log order under the patch; `undone` versions (rolled back by applied plans) never exist. */
export function replayHistory(history: Iterable<HistoryAction>, patch: Patch, undone: Iterable<VersionRef> = []): ReplayOutcome {
  const removed = new Map<string, VersionRef>();
  for (const v of undone) removed.set(versionKey(v), v);
  const outcomeChanges: number[] = [];
  const conflicts: Conflict[] = [];
  const revokedAt = new Map<string, string>();
  for (const { principal, from } of patch.revoke) if (!revokedAt.has(principal) || revokedAt.get(principal)! > from) revokedAt.set(principal, from);

  for (const action of history) {
    if (action.outcome !== 'allowed') continue;
    const from = action.actorId === null ? undefined : revokedAt.get(action.actorId);
    if (from !== undefined && action.time >= from) {
      outcomeChanges.push(action.auditIndex);
      for (const w of action.writes) removed.set(versionKey(w), strip(w));
      continue;
    }
    const missing = action.reads.filter((r) => removed.has(versionKey(r)));
    for (const w of action.writes) {
      if (w.copyOf === null) continue;
      const source = { ...strip(w), version: w.copyOf };
      if (!removed.has(versionKey(source))) continue;
      missing.push(source);
      removed.set(versionKey(w), strip(w)); // a copy of what does not exist does not exist
    }
    if (missing.length > 0) conflicts.push({ auditIndex: action.auditIndex, actor: action.actorId, session: action.session, missing });
  }
  return { outcomeChanges, removed: [...removed.values()], conflicts };
}

const strip = ({ space, resource, index, version }: VersionRef): VersionRef => ({ space, resource, index, version });

/** Records per round trip when loading a history. */
const CHUNK = 20_000;

/** The log's records [0, size) with their reads and writes, in order, loaded a chunk at a time. */
export async function* loadHistory(db: Database, log: string, size: number): AsyncGenerator<HistoryAction> {
  for (let start = 0; start < size; start += CHUNK) {
    const end = Math.min(size, start + CHUNK);
    const records = await db.all<{ idx: number; time: string; actorId: string | null; session: string | null; outcome: string }>(sql`
      SELECT idx, time, actor_id AS actorId, session, outcome FROM audit_records WHERE log = ${log} AND idx >= ${start} AND idx < ${end} ORDER BY idx`);
    const flows = await db.all<{
      auditIndex: number;
      kind: 'read' | 'write';
      space: VersionRef['space'];
      resource: string;
      index: number;
      version: number;
      copyOf: number | null;
    }>(sql`
      SELECT audit_index AS auditIndex, kind, space, resource_id AS resource, idx AS "index", version, copy_of AS copyOf
      FROM content_flows WHERE log = ${log} AND audit_index >= ${start} AND audit_index < ${end}`);
    const byAction = new Map<number, typeof flows>();
    for (const f of flows) (byAction.get(f.auditIndex) ?? byAction.set(f.auditIndex, []).get(f.auditIndex)!).push(f);
    for (const r of records) {
      const own = byAction.get(r.idx) ?? [];
      yield {
        auditIndex: r.idx,
        time: r.time,
        actorId: r.actorId,
        session: r.session,
        outcome: r.outcome,
        reads: own.filter((f) => f.kind === 'read').map(strip),
        writes: own.filter((f) => f.kind === 'write').map((f) => ({ ...strip(f), copyOf: f.copyOf })),
      };
    }
  }
}

/** Collects an async history so the pure replay can run over it. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
