/**
 * The information-flow index (platform/db/schema `content_flows`), written in
 * each record's own batch (audit/log/extensions.ts): the index holds exactly
 * what the signed log says, no more and no less. Taint (taint.ts) and the
 * exposure report read it.
 */
import { sessionOf, type AuditRecord, type Region } from '../../audit/format/record';
import type { LogExtension } from '../../audit/log/extensions';

export const flowIndex = (): LogExtension => ({ statements: ({ db, record }) => ({ afterRecord: flowStatements(db, record) }) });

function flowStatements(db: D1Database, record: AuditRecord): D1PreparedStatement[] {
  if (record.outcome !== 'allowed') return [];
  // A restore's rollback regions at version 0 are the pages it cleared: `clear` flows, so undo knows
  // when a page became unwritten. A recovery's own moves are no flow of data.
  const clears = record.action === 'snapshot.restore';
  const flows = (record.regions ?? []).flatMap((r): (Region & { kind: 'read' | 'write' | 'clear' })[] =>
    r.access !== 'rollback' ? [{ ...r, kind: r.access }] : clears && r.version === 0 ? [{ ...r, kind: 'clear' }] : [],
  );
  if (flows.length === 0) return [];
  const rows = JSON.stringify(flows.map((r) => [r.kind, r.space, r.resource, r.index, r.version, r.copyOf ?? null]));
  return [
    db
      .prepare(
        `INSERT INTO content_flows (log, audit_index, kind, space, resource_id, idx, version, copy_of, jti, session, actor_type, actor_id, time)
         SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?, ?, ?, ?, ? FROM json_each(?)`,
      )
      .bind(record.log, record.index, record.actor.jti, sessionOf(record.actor), record.actor.type, record.actor.id, record.time, rows),
  ];
}
