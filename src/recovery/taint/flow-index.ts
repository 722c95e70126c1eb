/**
 * The information-flow index in D1 (platform/db/schema contentFlows) as the taint
 * closure asks it: every lookup is a batched join on one of its indexes,
 * bounded to the log prefix a plan covers (`audit_index < size`), so a plan's
 * cost follows the taint's footprint, not the history's length.
 *
 * The SQL steers SQLite's planner, which has no statistics here: `CROSS JOIN`
 * keeps the short JSON list as the outer loop, and a unary `+` keeps the
 * prefix bound from being used as an index range (a range over the primary
 * key is a scan of the whole log).
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../platform/db/client';
import type { FlowIndex, VersionRef } from './taint';
import { parseObjectId } from '../objects/object-kinds';

const refsJson = (versions: readonly VersionRef[]): string => JSON.stringify(versions.map((v) => [v.space, v.resource, v.index, v.version]));

export function d1FlowIndex(db: Database, log: string, size: number): FlowIndex {
  return {
    async writesOf(actions) {
      if (actions.length === 0) return [];
      return db.all(sql`
        SELECT f.audit_index AS auditIndex, f.space, f.resource_id AS resource, f.idx AS "index", f.version
        FROM json_each(${JSON.stringify(actions)}) a
        CROSS JOIN content_flows f ON f.log = ${log} AND f.audit_index = a.value AND f.kind = 'write'`);
    },
    async readersOf(versions) {
      if (versions.length === 0) return [];
      return db.all(sql`
        SELECT DISTINCT f.audit_index AS auditIndex, f.session
        FROM json_each(${refsJson(versions)}) v
        CROSS JOIN content_flows f ON f.space = v.value ->> 0 AND f.resource_id = v.value ->> 1 AND f.idx = v.value ->> 2 AND f.version = v.value ->> 3
         AND f.kind = 'read' AND +f.log = ${log} AND +f.audit_index < ${size}`);
    },
    async copiesOf(versions) {
      if (versions.length === 0) return [];
      return db.all(sql`
        SELECT f.space, f.resource_id AS resource, f.idx AS "index", f.version
        FROM json_each(${refsJson(versions)}) v
        CROSS JOIN content_flows f ON f.space = v.value ->> 0 AND f.resource_id = v.value ->> 1 AND f.idx = v.value ->> 2 AND f.copy_of = v.value ->> 3
         AND +f.log = ${log} AND +f.audit_index < ${size}`);
    },
    async sessionActions(sessions) {
      if (sessions.length === 0) return [];
      const rows = await db.all<{ idx: number }>(sql`
        SELECT r.idx FROM json_each(${JSON.stringify(sessions.map((s) => [s.session, s.from]))}) s
        CROSS JOIN audit_records r ON r.log = ${log} AND r.session = s.value ->> 0 AND +r.idx >= s.value ->> 1 AND +r.idx < ${size} AND r.outcome = 'allowed'`);
      return rows.map((r) => r.idx);
    },
    async principalsCreatedBy(actions) {
      if (actions.length === 0) return [];
      // A toolstack's creation is the history row where it had no image before.
      const rows = await db.all<{ object: string }>(sql`
        SELECT o.object FROM json_each(${JSON.stringify(actions)}) a
        CROSS JOIN object_history o ON o.log = ${log} AND o.audit_index = a.value AND o.object LIKE 'toolstack:%' AND o.before IS NULL AND o.after IS NOT NULL`);
      return rows.map((r) => parseObjectId(r.object).key[0]!);
    },
    async principalActions(principals) {
      if (principals.length === 0) return [];
      const rows = await db.all<{ idx: number }>(sql`
        SELECT r.idx FROM json_each(${JSON.stringify(principals)}) p
        CROSS JOIN audit_records r ON r.log = ${log} AND r.actor_id = p.value AND +r.idx < ${size} AND r.outcome = 'allowed'`);
      return rows.map((r) => r.idx);
    },
  };
}

export interface Seeds {
  /** Principal ids (toolstack, owner or admin) whose actions are the attack. */
  actors?: string[];
  /** Sessions: a token's `sid` claim (shared by a client's tokens), or the `jti` of a token without one. */
  tokens?: string[];
  /** Audit indexes of single actions. */
  actions?: number[];
  /** Only actions at or after this instant (ISO 8601)… */
  from?: string;
  /** …and before this one. */
  to?: string;
}

/** The allowed actions the seeds name, within the plan's log prefix and time window. */
export async function seedActions(db: Database, log: string, size: number, seeds: Seeds): Promise<number[]> {
  const window = sql`+idx < ${size} AND outcome = 'allowed' ${seeds.from ? sql`AND time >= ${seeds.from}` : sql``} ${seeds.to ? sql`AND time < ${seeds.to}` : sql``}`;
  // One index lookup per kind of seed (actor, session, primary key), never a scan of the log:
  // as one UNION (and with an ORDER BY even more so) SQLite may walk the log in index order.
  const lookups = [
    ['actor_id', seeds.actors],
    ['session', seeds.tokens],
    ['idx', seeds.actions],
  ] as const;
  const found = new Set<number>();
  for (const [column, items] of lookups) {
    if (!items?.length) continue;
    const rows = await db.all<{ idx: number }>(sql`
      SELECT idx FROM audit_records WHERE log = ${log} AND ${sql.identifier(column)} IN (SELECT value FROM json_each(${JSON.stringify(items)})) AND ${window}`);
    for (const r of rows) found.add(r.idx);
  }
  return [...found].sort((a, b) => a - b);
}
