/**
 * Capacity arithmetic shared by placement, resize, migration and quotas, in
 * SQL fragments so that the guards run inside the very statement that writes.
 * What a host has allocated and a tenant uses is read from `vm_allocations`,
 * which triggers on `vms` keep equal to the VMs' sum (platform/db/schema,
 * drizzle/0015): a guard costs the same with ten VMs or ten thousand.
 */
import { eq, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { vmAllocations } from '../../platform/db/schema';

/** Totals of a LEFT JOIN on `vm_allocations` (`allocationOf`): what a host has allocated, or what a tenant uses. */
export const vmTotals = {
  vmVcpus: sql<number>`coalesce(${vmAllocations.vcpus}, 0)`,
  vmMemoryMiB: sql<number>`coalesce(${vmAllocations.memoryMiB}, 0)`,
  vmCount: sql<number>`coalesce(${vmAllocations.vmCount}, 0)`,
};

/** The join condition of a host's or a tenant's counters row. */
export const allocationOf = (kind: 'host' | 'tenant', id: AnySQLiteColumn): SQL => eq(vmAllocations.owner, sql`${`${kind}:`} || ${id}`);

export interface Resources {
  vcpus: number;
  memoryMiB: number;
}

/** A value bound into a fragment: itself, or a placeholder of a statement built once (platform/db/statements `compiledWrite`). */
type Bound<T> = T | Placeholder;
/** Resources as a guard binds them. */
export type Demand = { [K in keyof Resources]: Bound<Resources[K]> };

type Column = 'vcpus' | 'memory_mib';

/** `column` summed over the VMs whose `owner` column is `id` (the counter), optionally not counting VM `exceptVm`. */
const summed = (owner: 'host_id' | 'tenant_id', column: Column, id: SQL | Bound<string>, exceptVm?: string): SQL => {
  const counter = sql`coalesce((SELECT ${sql.raw(column)} FROM vm_allocations WHERE owner = ${owner === 'host_id' ? 'host:' : 'tenant:'} || ${id}), 0)`;
  if (!exceptVm) return sql`(${counter})`;
  return sql`(${counter} - coalesce((SELECT ${sql.raw(column)} FROM vms WHERE id = ${exceptVm} AND ${sql.raw(owner)} = ${id}), 0))`;
};

/** vCPUs / MiB already placed on host `hostId`. */
export const hostAllocated = (column: Column, hostId: SQL | string, exceptVm?: string): SQL => summed('host_id', column, hostId, exceptVm);

/** vCPUs / MiB used by tenant `tenantId`. */
export const tenantUsed = (column: Column, tenantId: SQL | string, exceptVm?: string): SQL => summed('tenant_id', column, tenantId, exceptVm);

export interface FitOptions {
  /** A VM whose current allocation is not counted (it is the one being resized or moved). */
  exceptVm?: string;
  /** Only an active host takes new VMs; a VM resized in place may stay on a draining one. */
  requireActive?: boolean;
}

/** True (as SQL) when host `hostId` has room for `demand`. */
export function hostFits(hostId: Bound<string>, demand: Demand, options: FitOptions = {}): SQL {
  const { exceptVm, requireActive = true } = options;
  return sql`EXISTS (
  SELECT 1 FROM hosts h WHERE h.id = ${hostId}${requireActive ? sql` AND h.state = 'active'` : sql``}
    AND ${hostAllocated('vcpus', sql`h.id`, exceptVm)} + ${demand.vcpus} <= h.vcpus
    AND ${hostAllocated('memory_mib', sql`h.id`, exceptVm)} + ${demand.memoryMiB} <= h.memory_mib)`;
}

/** True (as SQL) when tenant `tenantId` is active and its quota covers `demand` (besides VM `exceptVm`). */
export const tenantFits = (tenantId: Bound<string>, demand: Demand, exceptVm?: string): SQL => sql`EXISTS (
  SELECT 1 FROM tenants t WHERE t.id = ${tenantId} AND t.state = 'active'
    AND ${tenantUsed('vcpus', sql`t.id`, exceptVm)} + ${demand.vcpus} <= t.quota_vcpus
    AND ${tenantUsed('memory_mib', sql`t.id`, exceptVm)} + ${demand.memoryMiB} <= t.quota_memory_mib)`;

/** GiB of disks held by tenant `tenantId` (disks are sized against the slice, not placed on hosts). */
export const tenantDiskUsed = (tenantId: SQL | string): SQL => sql`(SELECT coalesce(sum(size_gib), 0) FROM disks WHERE tenant_id = ${tenantId})`;

/** True (as SQL) when tenant `tenantId` is active and its disk slice has `sizeGiB` more to give. */
export const tenantDiskFits = (tenantId: string, sizeGiB: number): SQL => sql`EXISTS (
  SELECT 1 FROM tenants t WHERE t.id = ${tenantId} AND t.state = 'active' AND ${tenantDiskUsed(sql`t.id`)} + ${sizeGiB} <= t.quota_disk_gib)`;
