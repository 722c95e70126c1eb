/**
 * What undo does to tenant objects besides contents (object-kinds.ts), read
 * from the object-history index: each object a tainted action touched goes
 * back to its image after the latest untainted action on it — or, when every
 * action on it is tainted, to its image before the first (for a toolstack the
 * attack created: revoked, so its records stay attributable). Later
 * legitimate changes survive: an object whose last change is untainted is
 * left alone. Cost: the objects the taint touched, and their histories from
 * the first tainted action on.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../platform/db/client';
import { absentImage, parseObjectId, type ObjectKindName } from './object-kinds';

/** One object a plan restores; images are the index's JSON text, compared byte for byte when applied. */
export interface ObjectChange {
  object: string;
  kind: ObjectKindName;
  key: string[];
  /** Its image now (as the last action on it left it); null: no row. */
  from: string | null;
  /** Its image after the plan. */
  to: string | null;
  /** The tainted actions that changed it. */
  actions: number[];
}

/** Actions that move objects as a plan says, not as anyone chose: they are no one's change to keep. */
const RECOVERY_ACTIONS = new Set(['recovery.apply', 'recovery.revert']);

export async function objectChanges(db: Database, log: string, size: number, tainted: ReadonlySet<number>, now: string): Promise<ObjectChange[]> {
  if (tainted.size === 0) return [];
  // Each object a tainted action touched, from the first such action on: nothing before it can
  // change the answer (the first tainted row's `before` is the image the object had then), so a
  // long legitimate history of the object costs nothing.
  const touched = await db.all<{ object: string; first: number }>(sql`
    SELECT o.object, MIN(o.audit_index) AS first FROM json_each(${JSON.stringify([...tainted])}) a
    CROSS JOIN object_history o ON o.log = ${log} AND o.audit_index = a.value
    GROUP BY o.object`);
  if (touched.length === 0) return [];
  const rows = await db.all<{ object: string; auditIndex: number; before: string | null; after: string | null; action: string }>(sql`
    SELECT o.object, o.audit_index AS auditIndex, o.before, o.after, r.action FROM json_each(${JSON.stringify(touched.map((t) => [t.object, t.first]))}) t
    CROSS JOIN object_history o ON o.log = ${log} AND o.object = t.value ->> 0 AND o.audit_index >= t.value ->> 1 AND o.audit_index < ${size}
    JOIN audit_records r ON r.log = o.log AND r.idx = o.audit_index
    ORDER BY o.object, o.audit_index`);
  const histories = new Map<string, typeof rows>();
  for (const row of rows) histories.set(row.object, [...(histories.get(row.object) ?? []), row]);
  const changes: ObjectChange[] = [];
  for (const [object, history] of histories) {
    const { kind, key } = parseObjectId(object);
    const current = history.at(-1)!.after;
    // The latest legitimate change after the first tainted one, else the image before that one.
    // An earlier plan's apply or revert is not one: after a revert, undoing again must undo again.
    const clean = history.filter((h) => !tainted.has(h.auditIndex) && !RECOVERY_ACTIONS.has(h.action)).at(-1);
    const target = clean ? clean.after : history[0]!.before;
    const to = target ?? absentImage(kind, current, now);
    if (to === current) continue;
    changes.push({ object, kind, key: [...key], from: current, to, actions: history.filter((h) => tainted.has(h.auditIndex)).map((h) => h.auditIndex) });
  }
  return changes.sort((a, b) => a.object.localeCompare(b.object));
}

/** Tainted actions whose effects cannot all be undone: a disk deleted with its blocks. Reads are disclosures. */
export async function irreversibleActions(
  db: Database,
  log: string,
  tainted: ReadonlySet<number>,
): Promise<{ auditIndex: number; action: string; why: string }[]> {
  if (tainted.size === 0) return [];
  const rows = await db.all<{ auditIndex: number; action: string }>(sql`
    SELECT r.idx AS auditIndex, r.action FROM json_each(${JSON.stringify([...tainted])}) a
    CROSS JOIN audit_records r ON r.log = ${log} AND r.idx = a.value AND r.action IN ('disk.delete')`);
  return rows.map((r) => ({ ...r, why: "the disk's blocks were deleted with it: undo restores the disk, unwritten" }));
}
