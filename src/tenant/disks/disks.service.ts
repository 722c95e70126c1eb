/**
 * Tenant disks: created within the tenant's diskGiB slice (the guarded INSERT
 * re-checks the slice, so concurrent creates cannot overrun it), attached to
 * at most one VM of the same tenant. Their blocks live in tenant/contents/contents.service.ts.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import { vmColumnInReach, type VmReach } from '../../auth/vm-reach';
import { nextRevision, type Database } from '../../platform/db/client';
import { disks, vms } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import { tenantDiskFits } from '../../provider/placement/capacity';
import { findTenant } from '../../provider/tenants/tenants.service';
import { NOT_YOURS } from '../../lib/problems';
import type { z } from '@hono/zod-openapi';
import type { DiskSchema } from './disks.schemas';
import { imaging } from '../../recovery/objects/object-kinds';

/** A disk as the API shows it (disks.schemas.ts). */
export type DiskView = z.infer<typeof DiskSchema>;

const toView = ({ tenantId, vmId, ...rest }: typeof disks.$inferSelect): DiskView => ({ ...rest, tenant: tenantId, vm: vmId });

export async function findDisk(db: Database, tenant: string, id: string): Promise<DiskView | null> {
  return firstOf(
    db
      .select()
      .from(disks)
      .where(and(eq(disks.id, id), eq(disks.tenantId, tenant))),
    toView,
  );
}

export const getDisk = async (db: Database, tenant: string, id: string): Promise<Result<DiskView, 'not_found'>> =>
  found(await findDisk(db, tenant, id), NOT_YOURS);

/** One page of the tenant's disks attached to VMs in `reach` (every disk, for a tenant-wide reach). */
export async function listDisks(db: Database, tenant: string, page: PageRequest, reach: VmReach): Promise<Page<DiskView>> {
  return keysetPage(
    (after) =>
      db
        .select()
        .from(disks)
        .where(and(eq(disks.tenantId, tenant), vmColumnInReach(reach, disks.vmId), after)),
    { key: disks.id, page, view: toView },
  );
}

export async function createDisk(
  db: Database,
  commit: Commit,
  tenant: string,
  input: { name: string; sizeGiB: number },
): Promise<Result<DiskView, 'name_taken' | 'quota_exceeded' | 'invalid_state'>> {
  const id = newId('dsk');
  const insert = sql`
    INSERT INTO disks (id, tenant_id, name, size_gib) SELECT ${id}, ${tenant}, ${input.name}, ${input.sizeGiB}
    WHERE ${tenantDiskFits(tenant, input.sizeGiB)}`;
  const committed = await commit([write(insert), expectChanges('disk.create')], {
    target: { type: 'disk', id },
    details: { sizeGiB: input.sizeGiB },
    objects: [imaging('disk', id)],
  });
  if (committed.ok) return ok((await findDisk(db, tenant, id))!);
  if (committed.rejected === 'unique') return fail('name_taken', `Tenant ${tenant} already has a disk named ${JSON.stringify(input.name)}.`);
  const current = await findTenant(db, tenant);
  if (current && current.state !== 'active') return fail('invalid_state', `Tenant ${tenant} is ${current.state}.`);
  return fail('quota_exceeded', `Tenant ${tenant} would use ${(current?.usage.diskGiB ?? 0) + input.sizeGiB}/${current?.quota.diskGiB ?? 0} GiB of disk.`, {
    quota: current?.quota,
    usage: current?.usage,
  });
}

/** Attaches to a VM of the same tenant, or detaches (`vm` null). */
export async function attachDisk(
  db: Database,
  commit: Commit,
  tenant: string,
  id: string,
  vm: string | null,
): Promise<Result<DiskView, 'not_found' | 'resource_in_use' | 'invalid_state'>> {
  const disk = await findDisk(db, tenant, id);
  if (!disk) return fail('not_found', NOT_YOURS);
  if (vm === null) {
    if (disk.vm === null) return fail('invalid_state', `Disk ${id} is not attached.`);
  } else if (disk.vm !== null) {
    return fail('resource_in_use', `Disk ${id} is attached to ${disk.vm}; detach it first.`, { vm: disk.vm });
  }
  const guards = [eq(disks.id, id), eq(disks.revision, disk.revision)];
  if (vm !== null) guards.push(isNull(disks.vmId), sql`EXISTS (SELECT 1 FROM vms WHERE id = ${vm} AND tenant_id = ${tenant})`);
  const update = db
    .update(disks)
    .set({ vmId: vm, ...nextRevision(disks.revision) })
    .where(and(...guards));
  const committed = await commit([write(update), expectChanges(vm ? 'disk.attach' : 'disk.detach')], {
    details: { vm: vm ?? disk.vm },
    objects: [imaging('disk', id)],
  });
  if (committed.ok) return ok((await findDisk(db, tenant, id))!);
  if (
    vm !== null &&
    !(
      await db
        .select({ id: vms.id })
        .from(vms)
        .where(and(eq(vms.id, vm), eq(vms.tenantId, tenant)))
    ).length
  ) {
    return fail('not_found', NOT_YOURS);
  }
  return fail('invalid_state', `Disk ${id} changed meanwhile; read it and retry.`);
}

/**
 * Deletes a detached disk. Its block versions stay, readable by version, for
 * the records that name them: only the tenant's audited purge removes them
 * (contents.service.ts `purgeVersions`).
 */
export async function deleteDisk(db: Database, commit: Commit, tenant: string, id: string): Promise<Result<{ id: string }, 'not_found' | 'resource_in_use'>> {
  const disk = await findDisk(db, tenant, id);
  if (!disk) return fail('not_found', NOT_YOURS);
  if (disk.vm) return fail('resource_in_use', `Disk ${id} is attached to ${disk.vm}; detach it first.`, { vm: disk.vm });
  const committed = await commit([write(db.delete(disks).where(and(eq(disks.id, id), isNull(disks.vmId)))), expectChanges('disk.delete')], {
    objects: [imaging('disk', id)],
  });
  return committed.ok ? ok({ id }) : fail('resource_in_use', `Disk ${id} was attached meanwhile.`);
}
