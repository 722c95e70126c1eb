/**
 * Provider admins (docs/design.md §2, §7). The bootstrap admins come from env
 * and only enrol the first admins, at once, while the ceremony is open
 * (bootstrap-ceremony.ts); after that every admin is registered — and its
 * roles changed — only through a change request a second enrolled admin with
 * the `security` role approves (governance/changes/two-person-rule.ts).
 * Disabling an admin takes power away, so it needs no second opinion and
 * takes effect on that admin's next request.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import { jsonOf, type JsonValue } from '../../audit/format/canonical-json';
import { bootstrapAdminId, findRegisteredKey, publicJwk, thumbprint } from '../../auth/principals';
import { ADMIN_ROLES, type AdminRole } from '../../auth/roles';
import { nextRevision, type Database } from '../../platform/db/client';
import { admins } from '../../platform/db/schema';
import { idFromKeyId, newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import type { Proposal } from '../changes/two-person-rule';
import { bootstrapStanding, ceremonyOpen, MAX_REENABLE_MINUTES, SECURITY_ADMINS_TO_RETIRE } from './bootstrap-ceremony';
import { bootstrapReenables } from '../../platform/db/schema';
import { now } from '../../platform/clock';

export interface AdminView {
  id: string;
  name: string;
  kid: string;
  roles: AdminRole[];
  /** `retired`: a bootstrap key after the ceremony (two enrolled admins hold `security`). */
  state: 'active' | 'revoked' | 'retired';
  /** Bootstrap admins are configured in env: they cannot be changed here. */
  bootstrap: boolean;
  /** A retired bootstrap key re-enabled by a two-person change: until when. */
  reenabledUntil: string | null;
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
  reenabledUntil: null,
  revision: row.revision,
  createdAt: row.createdAt,
});

/** The bootstrap admins of `BOOTSTRAP_ADMIN_JWK`, in key order, with where the ceremony leaves each. */
async function bootstrapAdmins(db: Database, jwks: string | undefined): Promise<AdminView[]> {
  const keys = jwks ? ((JSON.parse(jwks) as { keys?: JWK[] }).keys ?? []) : [];
  return Promise.all(
    keys.map(async (key, i) => {
      const id = bootstrapAdminId(i);
      const standing = await bootstrapStanding(db, id);
      const state = standing.retired && !standing.reenabledUntil ? ('retired' as const) : ('active' as const);
      return {
        id,
        name: id,
        kid: await thumbprint(key),
        roles: [...ADMIN_ROLES],
        state,
        bootstrap: true,
        reenabledUntil: standing.reenabledUntil,
        revision: 1,
        createdAt: null,
      };
    }),
  );
}

export async function getAdmin(db: Database, bootstrapJwks: string | undefined, id: string): Promise<Result<AdminView, 'not_found'>> {
  const boot = (await bootstrapAdmins(db, bootstrapJwks)).find((a) => a.id === id);
  if (boot) return ok(boot);
  return found(await firstOf(db.select().from(admins).where(eq(admins.id, id)), toView), `Admin ${id} does not exist.`);
}

/** Bootstrap admins first (on the first page), then registered admins by id. */
export async function listAdmins(db: Database, bootstrapJwks: string | undefined, page: PageRequest): Promise<Page<AdminView>> {
  const boot = page.after ? [] : await bootstrapAdmins(db, bootstrapJwks);
  const registered = await keysetPage((after) => db.select().from(admins).where(after), { key: admins.id, page, view: toView });
  return { ...registered, items: [...boot, ...registered.items] };
}

export interface Registration {
  name: string;
  publicKey: JWK;
  roles: AdminRole[];
}

type RegistrationParams = { id: string; name: string; kid: string; publicKey: JWK; roles: AdminRole[] };

/** A registration's parameters, or why the key cannot be an admin's. */
async function registrationParams(
  db: Database,
  bootstrapJwks: string | undefined,
  input: Registration,
): Promise<Result<RegistrationParams, 'resource_in_use'>> {
  const key = publicJwk(input.publicKey);
  const kid = await thumbprint(key);
  // One key, one principal, as for tenants and toolstacks.
  if (await findRegisteredKey(db, bootstrapJwks, kid))
    return fail('resource_in_use', `Key ${kid} already belongs to a principal; each admin needs its own key.`);
  return ok({ id: newId('adm'), name: input.name, kid, publicKey: key, roles: [...new Set(input.roles)] });
}

/** The change request that registers an admin, or why it cannot be proposed. */
export async function registrationProposal(db: Database, bootstrapJwks: string | undefined, input: Registration): Promise<Result<Proposal, 'resource_in_use'>> {
  const params = await registrationParams(db, bootstrapJwks, input);
  if (!params.ok) return params;
  const { id } = params.value;
  // Stored as JSON: the parameters are plain data (a JWK is an object of strings), which TypeScript cannot see through the JWK type.
  return ok({
    operation: 'admin.register',
    target: { type: 'admin', id },
    tenants: [],
    params: jsonOf(params.value),
    requiredRole: 'security',
    targetRevision: null,
  });
}

/** What the ceremony will be once `roles` are set: whether this enrolment retires the bootstrap keys. */
async function ceremonyAfter(db: Database, bootstrapId: string, gainsSecurity: boolean) {
  const before = await bootstrapStanding(db, bootstrapId);
  const securityAdmins = before.securityAdmins + (gainsSecurity ? 1 : 0);
  return { by: bootstrapId, securityAdmins, bootstrapRetired: securityAdmins >= SECURITY_ADMINS_TO_RETIRE };
}

/**
 * A bootstrap key enrols an admin at once (the ceremony has nobody to approve
 * a change yet). Guarded in its own batch on the ceremony still being open,
 * so concurrent enrolments cannot pass the threshold; the record says when
 * this enrolment retires the bootstrap keys.
 */
export async function enrolAdmin(
  db: Database,
  commit: Commit,
  bootstrapJwks: string | undefined,
  bootstrapId: string,
  input: Registration,
): Promise<Result<AdminView, 'resource_in_use' | 'bootstrap_retired'>> {
  const params = await registrationParams(db, bootstrapJwks, input);
  if (!params.ok) return params;
  // The id follows from the key: every start of a checkout enrolling the same key names the same admin.
  const { name, kid, publicKey, roles } = params.value;
  const id = idFromKeyId('adm', kid);
  const ceremony = await ceremonyAfter(db, bootstrapId, roles.includes('security'));
  const committed = await commit(
    [
      write(
        sql`INSERT INTO admins (id, name, kid, jwk, roles) SELECT ${id}, ${name}, ${kid}, ${JSON.stringify(publicKey)}, ${JSON.stringify(roles)} WHERE ${ceremonyOpen(bootstrapId)}`,
      ),
      expectChanges('bootstrap ceremony open'),
    ],
    { target: { type: 'admin', id }, details: { name, kid, roles, ceremony } },
  );
  if (!committed.ok)
    return fail('bootstrap_retired', `The bootstrap ceremony closed meanwhile (two enrolled admins hold security): ${bootstrapId} may no longer enrol.`);
  return getAdmin(db, bootstrapJwks, id) as Promise<Result<AdminView, never>>;
}

/** A bootstrap key sets an enrolled admin's roles at once, while the ceremony is open. */
export async function setRolesInCeremony(
  db: Database,
  commit: Commit,
  bootstrapJwks: string | undefined,
  bootstrapId: string,
  id: string,
  roles: AdminRole[],
): Promise<Result<AdminView, 'not_found' | 'invalid_state' | 'bootstrap_retired'>> {
  const found = await getAdmin(db, bootstrapJwks, id);
  if (!found.ok) return found;
  if (found.value.bootstrap) return fail('invalid_state', `${id} is a bootstrap admin: its roles come from the deployment's configuration.`);
  if (found.value.state !== 'active') return fail('invalid_state', `${id} is disabled.`);
  const wanted = [...new Set(roles)];
  const ceremony = await ceremonyAfter(db, bootstrapId, wanted.includes('security') && !found.value.roles.includes('security'));
  const committed = await commit(
    [
      write(
        sql`UPDATE admins SET roles = ${JSON.stringify(wanted)}, revision = revision + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ${id} AND state = 'active' AND ${ceremonyOpen(bootstrapId)}`,
      ),
      expectChanges('bootstrap ceremony open'),
    ],
    { target: { type: 'admin', id }, details: { roles: wanted, ceremony } },
  );
  if (!committed.ok) return fail('bootstrap_retired', `The bootstrap ceremony closed meanwhile, or ${id} was disabled.`);
  return getAdmin(db, bootstrapJwks, id) as Promise<Result<AdminView, never>>;
}

/** The change request that re-enables a retired bootstrap key for `minutes`. */
export async function reenableProposal(
  db: Database,
  bootstrapJwks: string | undefined,
  id: string,
  minutes: number,
): Promise<Result<Proposal, 'not_found' | 'invalid_state'>> {
  const found = await getAdmin(db, bootstrapJwks, id);
  if (!found.ok) return found;
  if (!found.value.bootstrap) return fail('invalid_state', `${id} is an enrolled admin, not a bootstrap key.`);
  return ok({
    operation: 'bootstrap.reenable',
    target: { type: 'admin', id },
    tenants: [],
    params: { minutes: Math.min(minutes, MAX_REENABLE_MINUTES) },
    requiredRole: 'security',
    targetRevision: null,
  });
}

/** Executes an approved re-enabling: the bootstrap key may enrol again until then. */
export async function reenableBootstrap(db: Database, commit: Commit, id: string, minutes: number, changeId: string): Promise<Result<JsonValue, never>> {
  const until = new Date(now() + minutes * 60_000).toISOString();
  const committed = await commit([
    write(
      db
        .insert(bootstrapReenables)
        .values({ adminId: id, until, changeId })
        .onConflictDoUpdate({ target: bootstrapReenables.adminId, set: { until, changeId } }),
    ),
  ]);
  if (!committed.ok) throw new Error(committed.message);
  return ok({ admin: id, reenabledUntil: until });
}

/** Executes an approved registration. */
export async function registerAdmin(db: Database, commit: Commit, params: RegistrationParams): Promise<Result<JsonValue, 'resource_in_use'>> {
  const committed = await commit([
    write(
      db
        .insert(admins)
        .values({ id: params.id, name: params.name, kid: params.kid, jwk: JSON.stringify(params.publicKey), roles: JSON.stringify(params.roles) }),
    ),
  ]);
  return committed.ok ? ok({ admin: params.id }) : fail('resource_in_use', `Key ${params.kid} was registered meanwhile.`);
}

/** The change request that sets a registered admin's roles. */
export async function rolesProposal(
  db: Database,
  bootstrapJwks: string | undefined,
  id: string,
  roles: AdminRole[],
): Promise<Result<Proposal, 'not_found' | 'invalid_state'>> {
  const found = await getAdmin(db, bootstrapJwks, id);
  if (!found.ok) return found;
  if (found.value.bootstrap) return fail('invalid_state', `${id} is a bootstrap admin: its roles come from the deployment's configuration.`);
  if (found.value.state !== 'active') return fail('invalid_state', `${id} is disabled.`);
  return ok({
    operation: 'admin.roles',
    target: { type: 'admin', id },
    tenants: [],
    params: { roles: [...new Set(roles)] },
    requiredRole: 'security',
    targetRevision: found.value.revision,
  });
}

export async function setAdminRoles(db: Database, commit: Commit, id: string, roles: AdminRole[]): Promise<Result<JsonValue, 'not_found'>> {
  const committed = await commit([
    write(
      db
        .update(admins)
        .set({ roles: JSON.stringify(roles), ...nextRevision(admins.revision) })
        .where(and(eq(admins.id, id), eq(admins.state, 'active'))),
    ),
    expectChanges('admin.roles'),
  ]);
  return committed.ok ? ok({ admin: id, roles }) : fail('not_found', `Admin ${id} is no longer active.`);
}

/** Disables a registered admin at once: its next request is refused. */
export async function disableAdmin(
  db: Database,
  commit: Commit,
  bootstrapJwks: string | undefined,
  id: string,
): Promise<Result<AdminView, 'not_found' | 'invalid_state'>> {
  const found = await getAdmin(db, bootstrapJwks, id);
  if (!found.ok) return found;
  if (found.value.bootstrap) return fail('invalid_state', `${id} is a bootstrap admin: remove its key from the deployment's configuration instead.`);
  if (found.value.state !== 'active') return fail('invalid_state', `${id} is already disabled.`);
  const committed = await commit([
    write(
      db
        .update(admins)
        .set({ state: 'revoked', ...nextRevision(admins.revision) })
        .where(and(eq(admins.id, id), eq(admins.state, 'active'))),
    ),
    expectChanges('admin.disable'),
  ]);
  if (!committed.ok) return fail('invalid_state', `${id} was disabled meanwhile.`);
  return getAdmin(db, bootstrapJwks, id) as Promise<Result<AdminView, never>>;
}
