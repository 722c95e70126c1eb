/**
 * Provider admins (docs/design.md §2, §7). The bootstrap admins come from env and
 * hold every role; every other admin is registered — and its roles changed —
 * only through a change request a second admin with the `security` role
 * approves (governance/changes/two-person-rule.ts). Disabling an admin takes power away, so it
 * needs no second opinion and takes effect on that admin's next request.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq } from 'drizzle-orm';
import type { JWK } from 'jose';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import type { JsonValue } from '../../audit/format/canonical-json';
import { bootstrapAdminId, findRegisteredKey, publicJwk, thumbprint } from '../../auth/principals';
import { ADMIN_ROLES, type AdminRole } from '../../auth/roles';
import { nextRevision, type Database } from '../../platform/db/client';
import { admins } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import type { Proposal } from '../changes/two-person-rule';

export interface AdminView {
  id: string;
  name: string;
  kid: string;
  roles: AdminRole[];
  state: 'active' | 'revoked';
  /** Bootstrap admins are configured in env: they cannot be changed here. */
  bootstrap: boolean;
  revision: number;
  createdAt: string | null;
}

const toView = (row: typeof admins.$inferSelect): AdminView => ({
  id: row.id,
  name: row.name,
  kid: row.kid,
  roles: JSON.parse(row.roles) as AdminRole[],
  state: row.state,
  bootstrap: false,
  revision: row.revision,
  createdAt: row.createdAt,
});

/** The bootstrap admins of `BOOTSTRAP_ADMIN_JWK`, in key order. */
async function bootstrapAdmins(jwks: string | undefined): Promise<AdminView[]> {
  const keys = jwks ? ((JSON.parse(jwks) as { keys?: JWK[] }).keys ?? []) : [];
  return Promise.all(
    keys.map(async (key, i) => ({ id: bootstrapAdminId(i), name: bootstrapAdminId(i), kid: await thumbprint(key), roles: [...ADMIN_ROLES], state: 'active' as const, bootstrap: true, revision: 1, createdAt: null })),
  );
}

export async function getAdmin(db: Database, bootstrapJwks: string | undefined, id: string): Promise<Result<AdminView, 'not_found'>> {
  const boot = (await bootstrapAdmins(bootstrapJwks)).find((a) => a.id === id);
  if (boot) return ok(boot);
  return found(await firstOf(db.select().from(admins).where(eq(admins.id, id)), toView), `Admin ${id} does not exist.`);
}

/** Bootstrap admins first (on the first page), then registered admins by id. */
export async function listAdmins(db: Database, bootstrapJwks: string | undefined, page: PageRequest): Promise<Page<AdminView>> {
  const boot = page.after ? [] : await bootstrapAdmins(bootstrapJwks);
  const registered = await keysetPage((after) => db.select().from(admins).where(after), { key: admins.id, page, view: toView });
  return { ...registered, items: [...boot, ...registered.items] };
}

export interface Registration {
  name: string;
  publicKey: JWK;
  roles: AdminRole[];
}

/** The change request that registers an admin, or why it cannot be proposed. */
export async function registrationProposal(db: Database, bootstrapJwks: string | undefined, input: Registration): Promise<Result<Proposal, 'resource_in_use'>> {
  const key = publicJwk(input.publicKey);
  const kid = await thumbprint(key);
  // One key, one principal, as for tenants and toolstacks.
  if (await findRegisteredKey(db, bootstrapJwks, kid)) return fail('resource_in_use', `Key ${kid} already belongs to a principal; each admin needs its own key.`);
  const id = newId('adm');
  return ok({
    operation: 'admin.register',
    target: { type: 'admin', id },
    tenants: [],
    params: { id, name: input.name, kid, publicKey: key as unknown as JsonValue, roles: [...new Set(input.roles)] },
    requiredRole: 'security',
    targetRevision: null,
  });
}

/** Executes an approved registration. */
export async function registerAdmin(db: Database, commit: Commit, params: { id: string; name: string; kid: string; publicKey: JWK; roles: AdminRole[] }): Promise<Result<JsonValue, 'resource_in_use'>> {
  const committed = await commit([write(db.insert(admins).values({ id: params.id, name: params.name, kid: params.kid, jwk: JSON.stringify(params.publicKey), roles: JSON.stringify(params.roles) }))]);
  return committed.ok ? ok({ admin: params.id }) : fail('resource_in_use', `Key ${params.kid} was registered meanwhile.`);
}

/** The change request that sets a registered admin's roles. */
export async function rolesProposal(db: Database, bootstrapJwks: string | undefined, id: string, roles: AdminRole[]): Promise<Result<Proposal, 'not_found' | 'invalid_state'>> {
  const found = await getAdmin(db, bootstrapJwks, id);
  if (!found.ok) return found;
  if (found.value.bootstrap) return fail('invalid_state', `${id} is a bootstrap admin: its roles come from the deployment's configuration.`);
  if (found.value.state !== 'active') return fail('invalid_state', `${id} is disabled.`);
  return ok({ operation: 'admin.roles', target: { type: 'admin', id }, tenants: [], params: { roles: [...new Set(roles)] }, requiredRole: 'security', targetRevision: found.value.revision });
}

export async function setAdminRoles(db: Database, commit: Commit, id: string, roles: AdminRole[]): Promise<Result<JsonValue, 'not_found'>> {
  const committed = await commit([write(db.update(admins).set({ roles: JSON.stringify(roles), ...nextRevision(admins.revision) }).where(and(eq(admins.id, id), eq(admins.state, 'active')))), expectChanges('admin.roles')]);
  return committed.ok ? ok({ admin: id, roles }) : fail('not_found', `Admin ${id} is no longer active.`);
}

/** Disables a registered admin at once: its next request is refused. */
export async function disableAdmin(db: Database, commit: Commit, bootstrapJwks: string | undefined, id: string): Promise<Result<AdminView, 'not_found' | 'invalid_state'>> {
  const found = await getAdmin(db, bootstrapJwks, id);
  if (!found.ok) return found;
  if (found.value.bootstrap) return fail('invalid_state', `${id} is a bootstrap admin: remove its key from the deployment's configuration instead.`);
  if (found.value.state !== 'active') return fail('invalid_state', `${id} is already disabled.`);
  const committed = await commit([
    write(db.update(admins).set({ state: 'revoked', ...nextRevision(admins.revision) }).where(and(eq(admins.id, id), eq(admins.state, 'active')))),
    expectChanges('admin.disable'),
  ]);
  if (!committed.ok) return fail('invalid_state', `${id} was disabled meanwhile.`);
  return getAdmin(db, bootstrapJwks, id) as Promise<Result<AdminView, never>>;
}
