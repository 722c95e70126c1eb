/**
 * Which admin operations are significant (docs/design.md §7), what each change
 * request pins and notifies, and how each runs once approved. The mechanism
 * — proposal, approval exactly once, expiry — is in changes.ts; this module
 * is the policy, next to the services it calls.
 *
 * - deleting a tenant or a VM: always;
 * - changing a tenant's quota: when the new quota is below what it uses;
 * - draining a host: when tenant VMs are on it (an empty host drains at once);
 * - registering an admin or changing its roles: always, once the bootstrap ceremony is over (admins.service.ts);
 * - re-enabling a retired bootstrap key: always (bootstrap-ceremony.ts);
 * - approving the next audit signing key: always (audit-keys.ts).
 */
import { eq } from 'drizzle-orm';
import { jsonOf, type JsonValue } from '../../audit/format/canonical-json';
import type { Database } from '../../platform/db/client';
import { vms } from '../../platform/db/schema';
import type { ProblemCode } from '../../lib/problems';
import { fail, ok, type Result } from '../../lib/result';
import type { JWK } from 'jose';
import { z } from '@hono/zod-openapi';
import { ADMIN_ROLES } from '../../auth/roles';
import { reenableBootstrap, registerAdmin, setAdminRoles } from '../admins/admins.service';
import { approveAuditKey } from '../audit-keys/audit-keys.service';
import type { ChangeOperation, Executor, Proposal } from './two-person-rule';
import { drainHost } from '../../provider/hosts/drain.service';
import { findHost } from '../../provider/hosts/hosts.service';
import { deleteTenant, findTenant, tenantInUse, updateTenant, type TenantPatch } from '../../provider/tenants/tenants.service';
import { PatchTenantBody } from '../../provider/tenants/tenants.schemas';
import { deleteVm, findVm } from '../../provider/vms/vms.service';

/** Deleting a tenant; refused when proposed if it could only fail on approval (the tenant still has VMs or disks). */
export async function tenantDeletion(db: Database, id: string): Promise<Result<Proposal, 'not_found' | 'resource_in_use'>> {
  const tenant = await findTenant(db, id);
  if (!tenant) return fail('not_found', `Tenant ${id} does not exist.`);
  const inUse = tenantInUse(tenant);
  if (inUse) return { ok: false, error: inUse };
  return ok({
    operation: 'tenant.delete',
    target: { type: 'tenant', id },
    tenants: [id],
    params: null,
    requiredRole: 'provisioner',
    targetRevision: tenant.revision,
  });
}

export async function vmDeletion(db: Database, id: string): Promise<Result<Proposal, 'not_found'>> {
  const vm = await findVm(db, id);
  if (!vm) return fail('not_found', `VM ${id} does not exist.`);
  return ok({
    operation: 'vm.delete',
    target: { type: 'vm', id },
    tenants: [vm.tenant],
    params: null,
    requiredRole: 'provisioner',
    targetRevision: vm.revision,
  });
}

/** A quota change that would leave the tenant over its slice needs a second admin; null when it may go ahead now. */
export async function quotaShrink(db: Database, id: string, patch: TenantPatch): Promise<Result<Proposal | null, 'not_found'>> {
  const tenant = await findTenant(db, id);
  if (!tenant) return fail('not_found', `Tenant ${id} does not exist.`);
  const { quota = {} } = patch;
  const below =
    (quota.vcpus ?? Infinity) < tenant.usage.vcpus ||
    (quota.memoryMiB ?? Infinity) < tenant.usage.memoryMiB ||
    (quota.diskGiB ?? Infinity) < tenant.usage.diskGiB;
  if (!below) return ok(null);
  // The patch is plain data, stored as JSON; it is parsed back as a TenantPatch when executed.
  return ok({
    operation: 'tenant.update',
    target: { type: 'tenant', id },
    tenants: [id],
    params: jsonOf(patch),
    requiredRole: 'provisioner',
    targetRevision: tenant.revision,
  });
}

/** Draining a host with tenant VMs on it needs a second admin; null when it is empty. */
export async function hostDrain(db: Database, id: string): Promise<Result<Proposal | null, 'not_found'>> {
  const host = await findHost(db, id);
  if (!host) return fail('not_found', `Host ${id} does not exist.`);
  const resident = await db.selectDistinct({ tenant: vms.tenantId }).from(vms).where(eq(vms.hostId, id));
  if (resident.length === 0) return ok(null);
  return ok({
    operation: 'host.drain',
    target: { type: 'host', id },
    tenants: resident.map((r) => r.tenant).sort(),
    params: null,
    requiredRole: 'operator',
    targetRevision: host.revision,
  });
}

const asJson = <E extends ProblemCode>(result: Result<unknown, E>) => result as Result<JsonValue, E>;

/**
 * What each operation's proposal stores as `params` (above, admins.service.ts,
 * bootstrap-ceremony.ts, audit-keys.service.ts), read back through its schema
 * when the change runs: a stored row is data, and a row that does not parse
 * fails the change rather than running it on a guess.
 */
const STORED_PARAMS = {
  'tenant.update': PatchTenantBody satisfies z.ZodType<TenantPatch>,
  'admin.register': z.strictObject({
    id: z.string(),
    name: z.string(),
    kid: z.string(),
    publicKey: z.record(z.string(), z.unknown()),
    roles: z.array(z.enum(ADMIN_ROLES)),
  }),
  'audit.rotate': z.object({ publicJwk: z.record(z.string(), z.unknown()) }),
  'admin.roles': z.object({ roles: z.array(z.enum(ADMIN_ROLES)) }),
  'bootstrap.reenable': z.object({ minutes: z.number().int().positive() }),
};

/** `change.params` through its operation's schema; the executor runs only on what parsed. */
async function withParams<O extends keyof typeof STORED_PARAMS>(
  change: Parameters<Executor>[2],
  operation: O,
  run: (params: z.infer<(typeof STORED_PARAMS)[O]>) => Promise<Result<JsonValue, ProblemCode>>,
): Promise<Result<JsonValue, ProblemCode>> {
  const parsed = STORED_PARAMS[operation].safeParse(change.params);
  if (!parsed.success)
    return fail('change_failed', `Change ${change.id}'s stored parameters are not a ${operation}'s: ${parsed.error.issues[0]?.message ?? 'unreadable'}.`);
  return run(parsed.data as z.infer<(typeof STORED_PARAMS)[O]>);
}

/** How each operation runs once approved; each commits through the approval's commit (changes.ts). */
export const EXECUTORS: Record<ChangeOperation, Executor> = {
  'tenant.delete': async (db, commit, change) => asJson(await deleteTenant(db, commit, change.target.id)),
  'tenant.update': (db, commit, change) =>
    withParams(change, 'tenant.update', async (patch) => asJson(await updateTenant(db, commit, change.target.id, patch, undefined, { belowUse: true }))),
  'vm.delete': async (db, commit, change) => asJson(await deleteVm(db, commit, change.target.id)),
  'host.drain': async (db, commit, change) => {
    const drained = await drainHost(db, commit, change.target.id);
    return drained.ok ? ok(jsonOf({ migrated: drained.value.migrated, stranded: drained.value.stranded })) : drained;
  },
  'admin.register': (db, commit, change) =>
    withParams(change, 'admin.register', (params) => registerAdmin(db, commit, { ...params, publicKey: params.publicKey as JWK })),
  'audit.rotate': (db, commit, change) =>
    withParams(change, 'audit.rotate', ({ publicJwk }) => approveAuditKey(db, commit, change.target.id, publicJwk as JWK, change.id)),
  'admin.roles': (db, commit, change) => withParams(change, 'admin.roles', ({ roles }) => setAdminRoles(db, commit, change.target.id, roles)),
  'bootstrap.reenable': (db, commit, change) =>
    withParams(change, 'bootstrap.reenable', ({ minutes }) => reenableBootstrap(db, commit, change.target.id, minutes, change.id)),
};
