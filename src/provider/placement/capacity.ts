/**
 * Capacity arithmetic shared by placement, resize, migration and quotas.
 * Allocation is always derived from the `vms` table (see platform/db/schema), in SQL
 * fragments so that the guards run inside the very statement that writes.
 */
import { sql, type SQL } from 'drizzle-orm';
import { vms } from '../../platform/db/schema';

/** Totals over the VMs of a LEFT JOIN on `vms`: what a host has allocated, or what a tenant uses. */
export const vmTotals = {
  vmVcpus: sql<number>`coalesce(sum(${vms.vcpus}), 0)`,
  vmMemoryMiB: sql<number>`coalesce(sum(${vms.memoryMiB}), 0)`,
  vmCount: sql<number>`count(${vms.id})`,
};

export interface Resources {
  vcpus: number;
  memoryMiB: number;
}

type Column = 'vcpus' | 'memory_mib';

/** SUM of `column` over the VMs whose `owner` column is `id`, optionally not counting VM `exceptVm`. */
const summed = (owner: 'host_id' | 'tenant_id', column: Column, id: SQL | string, exceptVm?: string): SQL =>
  sql`(SELECT coalesce(sum(${sql.raw(column)}), 0) FROM vms WHERE ${sql.raw(owner)} = ${id}${exceptVm ? sql` AND id <> ${exceptVm}` : sql``})`;

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
export function hostFits(hostId: string, demand: Resources, options: FitOptions = {}): SQL {
  const { exceptVm, requireActive = true } = options;
  return sql`EXISTS (
  SELECT 1 FROM hosts h WHERE h.id = ${hostId}${requireActive ? sql` AND h.state = 'active'` : sql``}
    AND ${hostAllocated('vcpus', sql`h.id`, exceptVm)} + ${demand.vcpus} <= h.vcpus
    AND ${hostAllocated('memory_mib', sql`h.id`, exceptVm)} + ${demand.memoryMiB} <= h.memory_mib)`;
}

/** True (as SQL) when tenant `tenantId` is active and its quota covers `demand` (besides VM `exceptVm`). */
export const tenantFits = (tenantId: string, demand: Resources, exceptVm?: string): SQL => sql`EXISTS (
  SELECT 1 FROM tenants t WHERE t.id = ${tenantId} AND t.state = 'active'
    AND ${tenantUsed('vcpus', sql`t.id`, exceptVm)} + ${demand.vcpus} <= t.quota_vcpus
    AND ${tenantUsed('memory_mib', sql`t.id`, exceptVm)} + ${demand.memoryMiB} <= t.quota_memory_mib)`;

/** GiB of disks held by tenant `tenantId` (disks are sized against the slice, not placed on hosts). */
export const tenantDiskUsed = (tenantId: SQL | string): SQL => sql`(SELECT coalesce(sum(size_gib), 0) FROM disks WHERE tenant_id = ${tenantId})`;

/** True (as SQL) when tenant `tenantId` is active and its disk slice has `sizeGiB` more to give. */
export const tenantDiskFits = (tenantId: string, sizeGiB: number): SQL => sql`EXISTS (
  SELECT 1 FROM tenants t WHERE t.id = ${tenantId} AND t.state = 'active' AND ${tenantDiskUsed(sql`t.id`)} + ${sizeGiB} <= t.quota_disk_gib)`;
