/**
 * Snapshots of a VM — its memory and the disks attached to it — taken and
 * restored entirely server-side, without decrypting anything (docs/design.md §3): a
 * snapshot holds references to the versions current when it was taken; a
 * restore writes new versions whose envelopes are copies of those, each
 * marked with its origin (`snapshot:<id>@<version>`) so that recovery can
 * follow the copy (docs/design.md §6 rule 3). Pages written after the snapshot and
 * absent from it read as unwritten again.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import type { Region } from '../../audit/format/record';
import { vmColumnInReach, type VmReach } from '../../auth/vm-reach';
import type { Database } from '../../platform/db/client';
import { snapshots } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import type { Space } from '../contents/contents.service';
import { findVm } from '../../provider/vms/vms.service';
import { NOT_YOURS } from '../../lib/problems';
import type { z } from '@hono/zod-openapi';
import type { SnapshotSchema } from './snapshots.schemas';
import { imaging } from '../../recovery/objects/object-kinds';

/** A snapshot as the API shows it (snapshots.schemas.ts). */
export type SnapshotView = z.infer<typeof SnapshotSchema>;

interface Item {
  space: Space;
  resource: string;
  index: number;
  version: number;
}

async function view(db: Database, row: typeof snapshots.$inferSelect): Promise<SnapshotView> {
  const [counts] = await db.all<{ pages: number; disks: string | null }>(sql`
    SELECT count(*) AS pages, json_group_array(DISTINCT CASE WHEN space = 'disk' THEN resource_id END) AS disks
    FROM snapshot_items WHERE snapshot_id = ${row.id}`);
  const disks = (JSON.parse(counts?.disks ?? '[]') as (string | null)[]).filter((d): d is string => d !== null);
  return { id: row.id, tenant: row.tenantId, vm: row.vmId, name: row.name, pages: counts?.pages ?? 0, disks, createdAt: row.createdAt };
}

/** The VM's memory and its attached disks, as spaces and resources. */
const vmResources = (vm: string) =>
  sql`((space = 'memory' AND resource_id = ${vm}) OR (space = 'disk' AND resource_id IN (SELECT id FROM disks WHERE vm_id = ${vm})))`;

export async function createSnapshot(
  db: Database,
  commit: Commit,
  tenant: string,
  input: { vm: string; name: string },
): Promise<Result<SnapshotView, 'not_found' | 'name_taken'>> {
  const vm = await findVm(db, input.vm);
  if (!vm || vm.tenant !== tenant) return fail('not_found', NOT_YOURS);
  const id = newId('snp');
  const committed = await commit(
    [
      write(sql`INSERT INTO snapshots (id, tenant_id, vm_id, name) VALUES (${id}, ${tenant}, ${vm.id}, ${input.name})`),
      write(sql`INSERT INTO snapshot_items (snapshot_id, space, resource_id, idx, version)
                SELECT ${id}, space, resource_id, idx, version FROM content_heads WHERE ${vmResources(vm.id)}`),
    ],
    { target: { type: 'snapshot', id }, details: { vm: vm.id }, objects: [imaging('snapshot', id)] },
  );
  if (!committed.ok) {
    if (committed.rejected === 'unique') return fail('name_taken', `Tenant ${tenant} already has a snapshot named ${JSON.stringify(input.name)}.`);
    throw new Error(committed.message);
  }
  return getSnapshot(db, tenant, id) as Promise<Result<SnapshotView, never>>;
}

export async function getSnapshot(db: Database, tenant: string, id: string): Promise<Result<SnapshotView, 'not_found'>> {
  return found(
    await firstOf(
      db
        .select()
        .from(snapshots)
        .where(and(eq(snapshots.id, id), eq(snapshots.tenantId, tenant))),
      (row) => view(db, row),
    ),
    NOT_YOURS,
  );
}

/** One page of the snapshots of VMs in `reach` (and of `vm`, when given). */
export async function listSnapshots(db: Database, tenant: string, page: PageRequest, reach: VmReach, vm?: string): Promise<Page<SnapshotView>> {
  return keysetPage(
    (after) =>
      db
        .select()
        .from(snapshots)
        .where(and(eq(snapshots.tenantId, tenant), vmColumnInReach(reach, snapshots.vmId), vm ? eq(snapshots.vmId, vm) : undefined, after)),
    {
      key: snapshots.id,
      page,
      view: (row) => view(db, row),
    },
  );
}

const MAX_ATTEMPTS = 4;

export async function restoreSnapshot(
  db: Database,
  commit: Commit,
  tenant: string,
  id: string,
): Promise<
  Result<
    { snapshot: string; vm: string; pages: { space: Space; resource: string; index: number; version: number; digest: string }[]; auditIndex: number },
    'not_found' | 'invalid_state' | 'precondition_failed'
  >
> {
  const snapshot = await getSnapshot(db, tenant, id);
  if (!snapshot.ok) return snapshot;
  const vm = await findVm(db, snapshot.value.vm);
  if (!vm) return fail('not_found', `VM ${snapshot.value.vm} of snapshot ${id} no longer exists.`);
  if (vm.state === 'running') return fail('invalid_state', `VM ${vm.id} is running; stop or pause it before restoring.`, { state: vm.state });
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // Each captured version, with the number its copy will get (one past the page's latest).
    const items = await db.all<Item & { digest: string; next: number }>(sql`
      SELECT s.space, s.resource_id AS resource, s.idx AS "index", s.version, v.digest,
             (SELECT MAX(version) FROM content_versions x WHERE x.space = s.space AND x.resource_id = s.resource_id AND x.idx = s.idx) + 1 AS next
      FROM snapshot_items s JOIN content_versions v ON v.space = s.space AND v.resource_id = s.resource_id AND v.idx = s.idx AND v.version = s.version
      WHERE s.snapshot_id = ${id}`);
    const rows = JSON.stringify(items);
    const copy = sql`
      INSERT INTO content_versions (space, resource_id, idx, version, tenant_id, digest, envelope, origin)
      SELECT v.space, v.resource_id, v.idx, json_extract(j.value, '$.next'), v.tenant_id, v.digest, v.envelope, ${`snapshot:${id}@`} || v.version
      FROM json_each(${rows}) j JOIN content_versions v
        ON v.space = json_extract(j.value, '$.space') AND v.resource_id = json_extract(j.value, '$.resource')
       AND v.idx = json_extract(j.value, '$.index') AND v.version = json_extract(j.value, '$.version')`;
    const heads = sql`
      INSERT INTO content_heads (space, resource_id, idx, version)
      SELECT json_extract(j.value, '$.space'), json_extract(j.value, '$.resource'), json_extract(j.value, '$.index'), json_extract(j.value, '$.next')
      FROM json_each(${rows}) j`;
    // Pages written since and absent from the snapshot go back to unwritten: the record says so
    // (version 0), so a client checking freshness against the log expects them absent.
    const cleared = await db.all<Omit<Item, 'version'>>(sql`
      SELECT h.space, h.resource_id AS resource, h.idx AS "index" FROM content_heads h
      WHERE ${vmResources(vm.id)} AND NOT EXISTS (
        SELECT 1 FROM snapshot_items s WHERE s.snapshot_id = ${id} AND s.space = h.space AND s.resource_id = h.resource_id AND s.idx = h.idx)`);
    const regions: Region[] = [
      ...items.map(
        (i): Region => ({ space: i.space, resource: i.resource, index: i.index, version: i.next, digest: i.digest, access: 'write', copyOf: i.version }),
      ),
      ...cleared.map((c): Region => ({ ...c, version: 0, digest: null, access: 'rollback' })),
    ];
    const committed = await commit(
      [write(copy), expectChanges('snapshot.restore', items.length), write(sql`DELETE FROM content_heads WHERE ${vmResources(vm.id)}`), write(heads)],
      { regions, details: { snapshot: id, vm: vm.id } },
    );
    if (committed.ok) {
      const pages = items.map(({ space, resource, index, next, digest }) => ({ space, resource, index, version: next, digest }));
      return ok({ snapshot: id, vm: vm.id, pages, auditIndex: committed.auditIndex });
    }
    if (committed.rejected !== 'unique' && committed.rejected !== 'assertion') throw new Error(committed.message);
  }
  return fail('precondition_failed', `The pages of VM ${vm.id} kept changing; retry.`);
}
