/**
 * Tenants: an owner public key (the tenant's root of trust; its private half
 * never reaches the provider) and a quota slice. Usage is derived from the
 * tenant's VMs, and a quota cannot be cut below it.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { JWK } from 'jose';
import { expectChanges, onUnique, write, type Commit } from '../../audit/log/commit';
import { tenantLog } from '../../audit/log/logs';
import { nextRevision, type Database } from '../../platform/db/client';
import { tenants, toolstacks, vmAllocations, wrappedKeys } from '../../platform/db/schema';
import { findRegisteredKey, publicJwk, thumbprint } from '../../auth/principals';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Failure, type Result } from '../../lib/result';
import { guardedWriteResult } from '../../platform/db/revisions';
import { allocationOf, tenantDiskUsed, tenantUsed, vmTotals } from '../placement/capacity';

export interface Quota {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

export interface TenantInput {
  name: string;
  ownerKey: JWK;
  quota: Quota;
}

export interface TenantPatch {
  name?: string;
  quota?: Partial<Quota>;
}

export interface TenantView {
  id: string;
  name: string;
  ownerKid: string;
  ownerKey: JWK;
  quota: Quota;
  usage: { vcpus: number; memoryMiB: number; vms: number; diskGiB: number };
  state: 'active' | 'suspended';
  revision: number;
  createdAt: string;
  updatedAt: string;
}

const tenantWithUsage = {
  ...getTableColumns(tenants),
  ...vmTotals,
  usedDiskGiB: sql<number>`${tenantDiskUsed(sql`${tenants.id}`)}`,
};

function selectTenants(db: Database, where?: SQL) {
  return db.select(tenantWithUsage).from(tenants).leftJoin(vmAllocations, allocationOf('tenant', tenants.id)).where(where);
}

function toView(row: Awaited<ReturnType<typeof selectTenants>>[number]): TenantView {
  return {
    id: row.id,
    name: row.name,
    ownerKid: row.ownerKid,
    ownerKey: JSON.parse(row.ownerJwk),
    quota: { vcpus: row.quotaVcpus, memoryMiB: row.quotaMemoryMiB, diskGiB: row.quotaDiskGiB },
    usage: { vcpus: row.vmVcpus, memoryMiB: row.vmMemoryMiB, vms: row.vmCount, diskGiB: row.usedDiskGiB },
    state: row.state,
    revision: row.revision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export async function createTenant(
  db: Database,
  commit: Commit,
  bootstrapJwks: string | undefined,
  input: TenantInput,
): Promise<Result<TenantView, 'name_taken' | 'resource_in_use'>> {
  const ownerKey = publicJwk(input.ownerKey);
  const ownerKid = await thumbprint(ownerKey);
  // One key, one principal: otherwise a token would be ambiguous about who signed it.
  if (await findRegisteredKey(db, bootstrapJwks, ownerKid)) {
    return fail('resource_in_use', `Key ${ownerKid} already belongs to a principal; each tenant needs its own key.`);
  }
  const id = newId('ten');
  const insert = db.insert(tenants).values({
    id,
    name: input.name,
    ownerKid,
    ownerJwk: JSON.stringify(ownerKey),
    quotaVcpus: input.quota.vcpus,
    quotaMemoryMiB: input.quota.memoryMiB,
    quotaDiskGiB: input.quota.diskGiB,
  });
  // The tenant's own log opens with its creation.
  const committed = await commit([onUnique(write(insert), { 'tenants.owner_kid': 'key_taken', tenants: 'name_taken' })], {
    log: tenantLog(id),
    target: { type: 'tenant', id },
    details: { ownerKid },
  });
  if (!committed.ok) {
    if (committed.rejected !== 'unique') throw new Error(committed.message);
    return committed.reason === 'key_taken'
      ? fail('resource_in_use', `Key ${ownerKid} already belongs to a tenant.`)
      : fail('name_taken', `A tenant named ${JSON.stringify(input.name)} already exists.`);
  }
  return ok((await findTenant(db, id))!);
}

export const findTenant = (db: Database, id: string): Promise<TenantView | null> => firstOf(selectTenants(db, eq(tenants.id, id)), toView);

export const getTenant = async (db: Database, id: string): Promise<Result<TenantView, 'not_found'>> =>
  found(await findTenant(db, id), `Tenant ${id} does not exist.`);

export const listTenants = (db: Database, page: PageRequest): Promise<Page<TenantView>> =>
  keysetPage((after) => selectTenants(db, after), { key: tenants.id, page, view: toView });

export async function updateTenant(
  db: Database,
  commit: Commit,
  id: string,
  patch: TenantPatch,
  expectedRevision?: number,
  /** An approved change request may shrink a quota below what the tenant uses (docs/design.md §7). */
  { belowUse = false }: { belowUse?: boolean } = {},
): Promise<Result<TenantView, 'not_found' | 'precondition_failed' | 'capacity_conflict' | 'name_taken'>> {
  const { quota = {} } = patch;
  const guards = [eq(tenants.id, id)];
  if (expectedRevision !== undefined) guards.push(eq(tenants.revision, expectedRevision));
  if (!belowUse) {
    if (quota.vcpus !== undefined) guards.push(sql`${tenantUsed('vcpus', id)} <= ${quota.vcpus}`);
    if (quota.memoryMiB !== undefined) guards.push(sql`${tenantUsed('memory_mib', id)} <= ${quota.memoryMiB}`);
    if (quota.diskGiB !== undefined) guards.push(sql`${tenantDiskUsed(id)} <= ${quota.diskGiB}`);
  }
  const update = db
    .update(tenants)
    .set({
      name: patch.name,
      quotaVcpus: quota.vcpus,
      quotaMemoryMiB: quota.memoryMiB,
      quotaDiskGiB: quota.diskGiB,
      ...nextRevision(tenants.revision),
    })
    .where(and(...guards));
  const committed = await commit([write(update), expectChanges('tenant.update')], { details: { patch: { ...patch, quota: { ...quota } } } });
  if (!committed.ok && committed.rejected === 'unique') return fail('name_taken', `A tenant named ${JSON.stringify(patch.name)} already exists.`);
  const tenant = await findTenant(db, id);
  return guardedWriteResult(`Tenant ${id}`, committed.ok && tenant ? { value: tenant } : null, tenant, expectedRevision, (current) => ({
    code: 'capacity_conflict' as const,
    detail: `Tenant ${id} uses ${current.usage.vcpus} vCPUs, ${current.usage.memoryMiB} MiB and ${current.usage.diskGiB} GiB of disk; its quota cannot go below that.`,
    extensions: { usage: current.usage },
  }));
}

/** Why a tenant cannot be deleted yet, or null when it has no VMs and no disks. */
export function tenantInUse(tenant: TenantView): Failure<'resource_in_use'> | null {
  const { vms, diskGiB } = tenant.usage;
  if (vms === 0 && diskGiB === 0) return null;
  return {
    code: 'resource_in_use',
    detail: `Tenant ${tenant.id} still has VMs or disks (${vms} VMs, ${diskGiB} GiB of disks); delete them first.`,
    extensions: { vms, diskGiB },
  };
}

export async function deleteTenant(
  db: Database,
  commit: Commit,
  id: string,
  expectedRevision?: number,
): Promise<Result<{ id: string }, 'not_found' | 'precondition_failed' | 'resource_in_use'>> {
  const guards = [
    eq(tenants.id, id),
    sql`NOT EXISTS (SELECT 1 FROM vms WHERE tenant_id = ${id})`,
    sql`NOT EXISTS (SELECT 1 FROM disks WHERE tenant_id = ${id})`,
  ];
  if (expectedRevision !== undefined) guards.push(eq(tenants.revision, expectedRevision));
  // The tenant's keys go with it (its audit log keeps their history); a failed guard rolls these back too.
  const committed = await commit([
    write(db.delete(toolstacks).where(eq(toolstacks.tenantId, id))),
    write(db.delete(wrappedKeys).where(eq(wrappedKeys.tenantId, id))),
    write(db.delete(tenants).where(and(...guards))),
    expectChanges('tenant.delete'),
  ]);
  const tenant = committed.ok ? null : await findTenant(db, id);
  return guardedWriteResult(
    `Tenant ${id}`,
    committed.ok ? { value: { id } } : null,
    tenant,
    expectedRevision,
    (current) => tenantInUse(current) ?? { code: 'resource_in_use', detail: `Tenant ${id} changed meanwhile; retry.` },
  );
}
