/**
 * The exposure report (docs/design.md §6): for each label, every allowed read that
 * touched it — who, with which toolstack and token, when, which page
 * versions, and where in the log — so a tenant knows which secrets to rotate
 * after an intrusion. It is answered from the information-flow index
 * (platform/db/schema contentFlows), which the sequencer fills from the very
 * records the tenant can verify: every row here can be checked against the
 * signed record at `auditIndex`.
 */
import { sql } from 'drizzle-orm';
import { toPage, type Page, type PageRequest } from '../../lib/page';
import type { ActorType } from '../../audit/format/record';
import { regionInReach, type VmReach } from '../../auth/vm-reach';
import { tenantLog } from '../../audit/log/logs';
import type { Database } from '../../platform/db/client';
import type { Space } from '../../tenant/contents/contents.service';
import { regionOwner, type RegionOwner } from '../labels/labels.service';

export interface ExposureFilter {
  /** Only this label. */
  label?: string;
  /** Only reads by this principal (toolstack, owner or admin id). */
  actor?: string;
  /** Reads at or after this instant (ISO 8601). */
  from?: string;
  /** Reads before this instant. */
  to?: string;
}

export interface ExposureRead {
  auditIndex: number;
  time: string;
  actor: { type: ActorType; id: string | null };
  /** The toolstack that read, when a toolstack did. */
  toolstack: string | null;
  jti: string | null;
  /** The client session the token belonged to (its `sid`, else its jti). */
  session: string | null;
  /** When the label was rotated after this read (its exposed data re-sealed, the old keys deleted); null: not yet. */
  rotatedAt: string | null;
  pages: { index: number; version: number }[];
}

export type LabelExposure = {
  name: string;
  start: number;
  count: number;
  /** Whether any read (within the filters) touched the label. */
  exposed: boolean;
  reads: ExposureRead[];
} & RegionOwner;

interface Row {
  name: string;
  space: Space;
  resource: string;
  start: number;
  count: number;
  auditIndex: number | null;
  time: string | null;
  actorType: ActorType | null;
  actorId: string | null;
  jti: string | null;
  session: string | null;
  rotatedAt: string | null;
  pages: string | null;
}

/** One page of the labels in `reach` (or the one asked for), by name, each with the reads that touched it, oldest first. */
export async function exposureReport(
  db: Database,
  tenant: string,
  reach: VmReach,
  page: PageRequest,
  filter: ExposureFilter = {},
): Promise<Page<LabelExposure>> {
  const readFilter = sql.join(
    [
      filter.actor ? sql`AND f.actor_id = ${filter.actor}` : sql``,
      filter.from ? sql`AND f.time >= ${filter.from}` : sql``,
      filter.to ? sql`AND f.time < ${filter.to}` : sql``,
    ],
    sql` `,
  );
  // One statement: a page of labels (keyset on the name, one more than asked to see if there is a next),
  // left-joined to their reads (by the range index), one row per read action.
  const rows = await db.all<Row>(sql`
    WITH l AS (
      SELECT * FROM labels
      WHERE tenant_id = ${tenant} AND ${regionInReach(reach, sql`space`, sql`resource_id`)} ${filter.label ? sql`AND name = ${filter.label}` : sql``} ${page.after !== undefined ? sql`AND name > ${page.after}` : sql``}
      ORDER BY name LIMIT ${page.limit + 1})
    SELECT l.name, l.space, l.resource_id AS resource, l.start, l.count,
           f.audit_index AS auditIndex, f.time, f.actor_type AS actorType, f.actor_id AS actorId, f.jti, f.session,
           (SELECT MIN(r.rotated_at) FROM label_rotations r WHERE r.tenant_id = ${tenant} AND r.label = l.name AND r.rotated_at >= f.time) AS rotatedAt,
           CASE WHEN f.audit_index IS NULL THEN NULL ELSE json_group_array(json_array(f.idx, f.version)) END AS pages
    FROM l
    LEFT JOIN content_flows f
      ON f.log = ${tenantLog(tenant)} AND f.kind = 'read' AND f.space = l.space AND f.resource_id = l.resource_id
     AND f.idx >= l.start AND f.idx < l.start + l.count ${readFilter}
    GROUP BY l.name, f.audit_index
    ORDER BY l.name, f.audit_index`);
  const report = new Map<string, LabelExposure>();
  for (const row of rows) {
    let label = report.get(row.name);
    if (!label) {
      label = { name: row.name, ...regionOwner(row.space, row.resource), start: row.start, count: row.count, exposed: false, reads: [] };
      report.set(row.name, label);
    }
    if (row.auditIndex === null) continue;
    label.exposed = true;
    label.reads.push({
      auditIndex: row.auditIndex,
      time: row.time!,
      actor: { type: row.actorType!, id: row.actorId },
      toolstack: row.actorType === 'toolstack' ? row.actorId : null,
      jti: row.jti,
      session: row.session,
      rotatedAt: row.rotatedAt,
      pages: (JSON.parse(row.pages!) as [number, number][]).map(([index, version]) => ({ index, version })).sort((a, b) => a.index - b.index),
    });
  }
  return toPage([...report.values()], page.limit, (label) => label.name);
}
