/**
 * The one rule for VM ceilings (docs/decisions.md, "VM reach").
 *
 * A toolstack may be limited to some of its tenant's VMs (its ceiling's
 * `vms`, or a token's narrower `vms` claim). That limit is the principal's
 * *reach*, and it holds wherever a request names a VM, however indirectly:
 *
 *  - a VM is in reach when the limit lists it;
 *  - a disk is in reach when it is attached to a VM in reach (an unattached
 *    disk belongs to the tenant as a whole, not to any VM);
 *  - a snapshot, a label or a recovery plan is in reach when every VM and
 *    disk it covers is.
 *
 * Explicit references — path, body, query — to anything outside the reach are
 * refused as `vm_not_allowed` before the handler runs (`vmCeiling`, installed
 * by the tenant route factory, so no handler can forget it). Implicit ones —
 * lists, the exposure report, a plan computed from seeds — are filtered or
 * checked by the service, whose signature takes a `VmReach` for that reason.
 * Views of the whole tenant that cannot be cut by VM without breaking them
 * (the audit log's records) need a tenant-wide token.
 *
 * This module is pure: it knows nothing of HTTP or D1 beyond an SQL fragment.
 */
import { sql, type SQL } from 'drizzle-orm';
import { fail, type Failure } from '../lib/result';

export type VmReach = { readonly all: true } | { readonly all: false; readonly vms: readonly string[] };

/** The reach of the tenant owner and of toolstacks without a VM limit. */
export const EVERY_VM: VmReach = { all: true };

export const vmReachOf = (principal: { vms?: readonly string[] }): VmReach => (principal.vms ? { all: false, vms: principal.vms } : EVERY_VM);

/** Whether `vm` is in reach; `null` (a disk attached to nothing) is in reach of tenant-wide principals only. */
export function reaches(reach: VmReach, vm: string | null | undefined): boolean {
  if (reach.all) return true;
  return typeof vm === 'string' && reach.vms.includes(vm);
}

export const outsideReach = (reach: VmReach, what = 'This'): { ok: false; error: Failure<'vm_not_allowed'> } =>
  fail('vm_not_allowed', `${what} is outside the VMs the token is limited to (${reach.all ? 'all' : reach.vms.join(', ')}).`);

/** SQL: `column` names a VM in reach (always true for a tenant-wide reach). */
export function vmColumnInReach(reach: VmReach, column: SQL | { getSQL(): SQL }): SQL {
  if (reach.all) return sql`1 = 1`;
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(reach.vms)}))`;
}

/** SQL: a region `(space, resource)` — a VM's memory or a disk — is in reach. */
export function regionInReach(reach: VmReach, space: SQL | { getSQL(): SQL }, resource: SQL | { getSQL(): SQL }): SQL {
  if (reach.all) return sql`1 = 1`;
  const vms = JSON.stringify(reach.vms);
  return sql`((${space} = 'memory' AND ${resource} IN (SELECT value FROM json_each(${vms})))
    OR (${space} = 'disk' AND ${resource} IN (SELECT id FROM disks WHERE vm_id IN (SELECT value FROM json_each(${vms})))))`;
}
