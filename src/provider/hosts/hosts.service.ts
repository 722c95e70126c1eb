/**
 * Hosts: the provider's physical capacity. A host's allocation is derived from
 * the VMs placed on it; shrinking or deleting a host is guarded in the same
 * statement against what is placed there.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import { nextRevision, type Database } from '../../platform/db/client';
import { hosts, vmAllocations } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import { guardedWriteResult } from '../../platform/db/revisions';
import { allocationOf, hostAllocated, vmTotals } from '../placement/capacity';
import { forgetPlacementView } from '../placement/placement-view';
import type { HostCapacity } from '../placement/placement';

export interface HostInput {
  name: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

export interface HostPatch extends Partial<HostInput> {
  /** Only `active` may be set by hand: it returns a drained host to service. */
  state?: 'active';
}

export interface HostView extends HostInput {
  id: string;
  state: 'active' | 'draining' | 'drained';
  allocated: { vcpus: number; memoryMiB: number; vms: number };
  revision: number;
  createdAt: string;
  updatedAt: string;
}

const hostWithAllocation = { ...getTableColumns(hosts), ...vmTotals };

function selectHosts(db: Database, where?: SQL) {
  return db.select(hostWithAllocation).from(hosts).leftJoin(vmAllocations, allocationOf('host', hosts.id)).where(where);
}

type HostRow = Awaited<ReturnType<typeof selectHosts>>[number];

function toView(row: HostRow): HostView {
  const { vmVcpus, vmMemoryMiB, vmCount, ...host } = row;
  return { ...host, allocated: { vcpus: vmVcpus, memoryMiB: vmMemoryMiB, vms: vmCount } };
}

export async function createHost(db: Database, commit: Commit, input: HostInput): Promise<Result<HostView, 'name_taken'>> {
  const id = newId('hst');
  const committed = await commit([write(db.insert(hosts).values({ id, ...input }))], { target: { type: 'host', id } });
  forgetPlacementView(); // a new host: placement must see it
  if (!committed.ok) {
    if (committed.rejected === 'unique') return fail('name_taken', `A host named ${JSON.stringify(input.name)} already exists.`);
    throw new Error(committed.message);
  }
  return ok((await findHost(db, id))!);
}

export const findHost = (db: Database, id: string): Promise<HostView | null> => firstOf(selectHosts(db, eq(hosts.id, id)), toView);

export const getHost = async (db: Database, id: string): Promise<Result<HostView, 'not_found'>> => found(await findHost(db, id), `Host ${id} does not exist.`);

export const listHosts = (db: Database, page: PageRequest): Promise<Page<HostView>> =>
  keysetPage((after) => selectHosts(db, after), { key: hosts.id, page, view: toView });

/** Free capacity of every host, for placement. */
export async function hostCapacities(db: Database): Promise<HostCapacity[]> {
  const rows = await selectHosts(db);
  return rows.map((h) => ({
    id: h.id,
    state: h.state,
    free: { vcpus: h.vcpus - h.vmVcpus, memoryMiB: h.memoryMiB - h.vmMemoryMiB },
  }));
}

export async function updateHost(
  db: Database,
  commit: Commit,
  id: string,
  patch: HostPatch,
  expectedRevision?: number,
): Promise<Result<HostView, 'not_found' | 'precondition_failed' | 'capacity_conflict' | 'name_taken'>> {
  const guards = [eq(hosts.id, id)];
  if (expectedRevision !== undefined) guards.push(eq(hosts.revision, expectedRevision));
  if (patch.vcpus !== undefined) guards.push(sql`${hostAllocated('vcpus', id)} <= ${patch.vcpus}`);
  if (patch.memoryMiB !== undefined) guards.push(sql`${hostAllocated('memory_mib', id)} <= ${patch.memoryMiB}`);
  const update = db
    .update(hosts)
    .set({ ...patch, ...nextRevision(hosts.revision) })
    .where(and(...guards));
  const committed = await commit([write(update), expectChanges('host.update')], { details: { patch: { ...patch } } });
  forgetPlacementView();
  if (!committed.ok && committed.rejected === 'unique') return fail('name_taken', `A host named ${JSON.stringify(patch.name)} already exists.`);
  const host = await findHost(db, id);
  return guardedWriteResult(`Host ${id}`, committed.ok && host ? { value: host } : null, host, expectedRevision, (current) => ({
    code: 'capacity_conflict' as const,
    detail: `Host ${id} has ${current.allocated.vcpus} vCPUs and ${current.allocated.memoryMiB} MiB allocated; it cannot shrink below that.`,
    extensions: { allocated: current.allocated },
  }));
}

export async function deleteHost(
  db: Database,
  commit: Commit,
  id: string,
  expectedRevision?: number,
): Promise<Result<{ id: string }, 'not_found' | 'precondition_failed' | 'resource_in_use'>> {
  const guards = [eq(hosts.id, id), sql`NOT EXISTS (SELECT 1 FROM vms WHERE host_id = ${id})`];
  if (expectedRevision !== undefined) guards.push(eq(hosts.revision, expectedRevision));
  const committed = await commit([write(db.delete(hosts).where(and(...guards))), expectChanges('host.delete')]);
  forgetPlacementView();
  const host = committed.ok ? null : await findHost(db, id);
  return guardedWriteResult(`Host ${id}`, committed.ok ? { value: { id } } : null, host, expectedRevision, (current) => ({
    code: 'resource_in_use' as const,
    detail: `Host ${id} still runs ${current.allocated.vms} VMs; drain it first.`,
    extensions: { vms: current.allocated.vms },
  }));
}
