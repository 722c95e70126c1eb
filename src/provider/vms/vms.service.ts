/**
 * VM provisioning: placement, resize, migration, deletion. Every capacity
 * decision is made twice: first on a read (to pick a host and to explain a
 * refusal), then inside the guarded write itself (`hostFits`, `tenantFits`,
 * `revision = ?`), so concurrent requests can never over-commit a host or a
 * quota. A lost race costs a retry, bounded by MAX_ATTEMPTS.
 *
 * Creation is shared by an admin's placement and a tenant's self-service
 * create (within its quota); the rest is the provider's. Nothing here touches
 * guest memory or disks: provisioning is all an admin can do to a VM. A
 * tenant's power control is tenant/vms/power.service.ts.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { compiledWrite, expectChanges, write, type Commit, type Placeholders } from '../../audit/log/commit';
import { nextRevision, type Database } from '../../platform/db/client';
import { vmColumnInReach, type VmReach } from '../../auth/vm-reach';
import { vms } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import type { ProblemCode } from '../../lib/problems';
import { fail, found, ok, type Result } from '../../lib/result';
import { staleRevision } from '../../platform/db/revisions';
import { hostFits, tenantFits, type Resources } from '../placement/capacity';
import { findHost, hostCapacities } from '../hosts/hosts.service';
import { forgetPlacementView, placedOnHost, placementView } from '../placement/placement-view';
import { rankHosts } from '../placement/placement';
import { findTenant } from '../tenants/tenants.service';

const MAX_ATTEMPTS = 4;

export interface VmInput extends Resources {
  name: string;
}

export interface VmView extends VmInput {
  id: string;
  tenant: string;
  host: string;
  state: 'running' | 'stopped' | 'paused';
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** The `RETURNING` list that yields a VmView straight from a raw statement. */
const VM_VIEW_COLUMNS = sql.raw(
  'id, tenant_id AS tenant, host_id AS host, name, vcpus, memory_mib AS memoryMiB, state, revision, created_at AS createdAt, updated_at AS updatedAt',
);

export interface NewVm {
  id: string;
  tenantId: string;
  hostId: string;
  name: string;
  vcpus: number;
  memoryMiB: number;
}

/** A VM placed on its host, if the host has room and the tenant's slice covers it: the create's guarded INSERT. */
export const insertVmSql = (vm: Placeholders<NewVm>): SQL => sql`
      INSERT INTO vms (id, tenant_id, host_id, name, vcpus, memory_mib)
      SELECT ${vm.id}, ${vm.tenantId}, ${vm.hostId}, ${vm.name}, ${vm.vcpus}, ${vm.memoryMiB}
      WHERE ${hostFits(vm.hostId, vm)} AND ${tenantFits(vm.tenantId, vm)}
      RETURNING ${VM_VIEW_COLUMNS}`;
/** `insertVmSql`, built once (the hot path of every create). */
const insertVm = compiledWrite(insertVmSql);

function toView(row: typeof vms.$inferSelect): VmView {
  const { tenantId, hostId, ...rest } = row;
  return { ...rest, tenant: tenantId, host: hostId };
}

export async function findVm(db: Database, id: string): Promise<VmView | null> {
  return firstOf(db.select().from(vms).where(eq(vms.id, id)), toView);
}

export const getVm = async (db: Database, id: string): Promise<Result<VmView, 'not_found'>> => found(await findVm(db, id), `VM ${id} does not exist.`);

export interface VmFilter {
  tenant?: string;
  host?: string;
  /** Only VMs in reach (a VM-limited token). */
  reach?: VmReach;
}

export async function listVms(db: Database, page: PageRequest, filter: VmFilter = {}): Promise<Page<VmView>> {
  const where = [
    filter.tenant ? eq(vms.tenantId, filter.tenant) : undefined,
    filter.host ? eq(vms.hostId, filter.host) : undefined,
    filter.reach ? vmColumnInReach(filter.reach, vms.id) : undefined,
  ];
  return keysetPage(
    (after) =>
      db
        .select()
        .from(vms)
        .where(and(...where, after)),
    { key: vms.id, page, view: toView },
  );
}

type QuotaCheck = Result<unknown, 'not_found' | 'invalid_state' | 'quota_exceeded'>;

/** Explains, from a fresh read, whether tenant `tenantId` can take `extra` more resources. */
async function checkQuota(db: Database, tenantId: string, extra: Resources): Promise<QuotaCheck> {
  const tenant = await findTenant(db, tenantId);
  if (!tenant) return fail('not_found', `Tenant ${tenantId} does not exist.`);
  if (tenant.state !== 'active') return fail('invalid_state', `Tenant ${tenantId} is ${tenant.state}.`);
  const { quota, usage } = tenant;
  if (usage.vcpus + extra.vcpus > quota.vcpus || usage.memoryMiB + extra.memoryMiB > quota.memoryMiB) {
    return fail(
      'quota_exceeded',
      `Tenant ${tenantId} would use ${usage.vcpus + extra.vcpus}/${quota.vcpus} vCPUs and ${usage.memoryMiB + extra.memoryMiB}/${quota.memoryMiB} MiB.`,
      { quota, usage, requested: extra },
    );
  }
  return ok(tenant);
}

const noCapacity = (demand: Resources) =>
  fail('no_capacity', `No active host has ${demand.vcpus} vCPUs and ${demand.memoryMiB} MiB free.`, { requested: demand });

export async function createVm(
  db: Database,
  commit: Commit,
  tenantId: string,
  input: VmInput,
): Promise<Result<VmView, 'not_found' | 'invalid_state' | 'quota_exceeded' | 'no_capacity' | 'name_taken'>> {
  const demand = { vcpus: input.vcpus, memoryMiB: input.memoryMiB };
  // Optimistic: pick a host and let the guarded INSERT decide. Reads that only
  // explain a refusal (quota, tenant state) happen when the INSERT refuses.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // The cached view first (placement/placement-view.ts); "no host fits" only from a fresh read.
    let [host] = rankHosts(await placementView(db, hostCapacities, { fresh: attempt > 0 }), demand);
    if (!host && attempt === 0) [host] = rankHosts(await placementView(db, hostCapacities, { fresh: true }), demand);
    if (!host) {
      const quota = await checkQuota(db, tenantId, demand);
      return quota.ok ? noCapacity(demand) : quota;
    }
    const id = newId('vm');
    const insert = insertVm({ id, tenantId, hostId: host.id, name: input.name, vcpus: input.vcpus, memoryMiB: input.memoryMiB });
    const committed = await commit([insert, expectChanges('vm.create')], { target: { type: 'vm', id }, details: { host: host.id } });
    if (committed.ok) {
      placedOnHost(host.id, demand);
      // The insert's RETURNING row is the VM view's columns (the statement above names them).
      return ok(committed.rows[0]![0] as unknown as VmView);
    }
    if (committed.rejected === 'unique') return fail('name_taken', `Tenant ${tenantId} already has a VM named ${JSON.stringify(input.name)}.`);
    const quota = await checkQuota(db, tenantId, demand);
    if (!quota.ok) return quota;
    // Quota is fine, so another request took the host's room between read and write: look again.
  }
  return noCapacity(demand);
}

export interface VmPatch {
  name?: string;
  vcpus?: number;
  memoryMiB?: number;
}

export type WriteFailure = 'not_found' | 'precondition_failed';

/**
 * Runs `tryWrite` against the VM's current revision until it applies (`ok(true)`),
 * the VM vanishes, or the caller's expected revision no longer holds. `ok(false)`
 * from `tryWrite` means its revision guard lost a race: read again and retry.
 * Returns the VM as it was before the write.
 */
export async function writeAtRevision<E extends ProblemCode>(
  db: Database,
  id: string,
  expectedRevision: number | undefined,
  tryWrite: (vm: VmView) => Promise<Result<boolean, E>>,
): Promise<Result<VmView, E | WriteFailure>> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const vm = await findVm(db, id);
    if (!vm) return fail('not_found', `VM ${id} does not exist.`);
    const stale = staleRevision(`VM ${id}`, vm, expectedRevision);
    if (stale) return stale;
    const written = await tryWrite(vm);
    if (!written.ok) return written;
    if (written.value) return ok(vm);
  }
  return fail('precondition_failed', `VM ${id} kept changing; retry.`);
}

export const atRevision = (vm: VmView) => and(eq(vms.id, vm.id), eq(vms.revision, vm.revision));

type ResizeFailure = WriteFailure | 'quota_exceeded' | 'no_capacity' | 'invalid_state' | 'name_taken';

export async function resizeVm(db: Database, commit: Commit, id: string, patch: VmPatch, expectedRevision?: number): Promise<Result<VmView, ResizeFailure>> {
  const resized = await writeAtRevision<ResizeFailure>(db, id, expectedRevision, async (vm) => {
    const demand = { vcpus: patch.vcpus ?? vm.vcpus, memoryMiB: patch.memoryMiB ?? vm.memoryMiB };
    const growth = { vcpus: demand.vcpus - vm.vcpus, memoryMiB: demand.memoryMiB - vm.memoryMiB };
    if (growth.vcpus > 0 || growth.memoryMiB > 0) {
      const quota = await checkQuota(db, vm.tenant, { vcpus: Math.max(0, growth.vcpus), memoryMiB: Math.max(0, growth.memoryMiB) });
      if (!quota.ok) return quota;
    }
    const update = db
      .update(vms)
      .set({ ...patch, ...nextRevision(vms.revision) })
      .where(and(atRevision(vm), hostFits(vm.host, demand, { exceptVm: vm.id, requireActive: false }), tenantFits(vm.tenant, demand, vm.id)));
    const details = { from: { vcpus: vm.vcpus, memoryMiB: vm.memoryMiB, name: vm.name }, to: { ...demand, name: patch.name ?? vm.name } };
    const committed = await commit([write(update), expectChanges('vm.resize')], { details });
    if (committed.ok) {
      forgetPlacementView();
      return ok(true);
    }
    if (committed.rejected === 'unique') return fail('name_taken', `Tenant ${vm.tenant} already has a VM named ${JSON.stringify(patch.name)}.`);
    const host = await findHost(db, vm.host);
    if (host && (host.allocated.vcpus - vm.vcpus + demand.vcpus > host.vcpus || host.allocated.memoryMiB - vm.memoryMiB + demand.memoryMiB > host.memoryMiB)) {
      return fail('no_capacity', `Host ${vm.host} has no room to grow VM ${id}; migrate it first.`, { requested: demand });
    }
    return ok(false);
  });
  return resized.ok ? ok((await findVm(db, id))!) : resized;
}

export interface MigrationResult {
  vm: VmView;
  from: string;
  to: string;
}

/** Moves a VM to `targetHost`, or to the best other host when none is named. */
export async function migrateVm(
  db: Database,
  commit: Commit,
  id: string,
  targetHost?: string,
): Promise<Result<MigrationResult, WriteFailure | 'no_capacity' | 'invalid_state'>> {
  const moved = await writeAtRevision<WriteFailure | 'no_capacity' | 'invalid_state'>(db, id, undefined, async (vm) => {
    const demand = { vcpus: vm.vcpus, memoryMiB: vm.memoryMiB };
    if (targetHost !== undefined) {
      if (targetHost === vm.host) return fail('invalid_state', `VM ${id} already runs on ${targetHost}.`);
      const target = await findHost(db, targetHost);
      if (!target) return fail('not_found', `Host ${targetHost} does not exist.`);
      if (target.state !== 'active') return fail('invalid_state', `Host ${targetHost} is ${target.state} and takes no VMs.`);
    }
    const candidates = targetHost ? [targetHost] : rankHosts(await hostCapacities(db), demand, new Set([vm.host])).map((h) => h.id);
    for (const candidate of candidates.slice(0, MAX_ATTEMPTS)) {
      const update = db
        .update(vms)
        .set({ hostId: candidate, ...nextRevision(vms.revision) })
        .where(and(atRevision(vm), hostFits(candidate, demand)));
      const committed = await commit([write(update), expectChanges('vm.migrate')], { details: { from: vm.host, to: candidate } });
      if (committed.ok) {
        forgetPlacementView();
        return ok(true);
      }
      if ((await findVm(db, id))?.revision !== vm.revision) return ok(false);
    }
    return targetHost
      ? fail('no_capacity', `Host ${targetHost} has no room for ${demand.vcpus} vCPUs and ${demand.memoryMiB} MiB.`, { requested: demand })
      : fail(
          'no_capacity',
          `No active host other than ${vm.host} (where VM ${id} runs) has ${demand.vcpus} vCPUs and ${demand.memoryMiB} MiB free: register or undrain one to migrate to.`,
          { requested: demand },
        );
  });
  if (!moved.ok) return moved;
  const vm = (await findVm(db, id))!;
  return ok({ vm, from: moved.value.host, to: vm.host });
}

export async function deleteVm(db: Database, commit: Commit, id: string, expectedRevision?: number): Promise<Result<{ id: string }, WriteFailure>> {
  const deleted = await writeAtRevision<WriteFailure>(db, id, expectedRevision, async (vm) => {
    const committed = await commit([write(db.delete(vms).where(atRevision(vm))), expectChanges('vm.delete')]);
    if (committed.ok) forgetPlacementView();
    return ok(committed.ok);
  });
  return deleted.ok ? ok({ id }) : deleted;
}
