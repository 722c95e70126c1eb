/**
 * Tenant-held toolstacks (docs/design.md §2): the tenant owner registers a public key
 * with a scope ceiling and, optionally, the VMs it may touch. The private half
 * stays with the tenant; the toolstack mints its own short-lived tokens, which
 * may ask for less than the ceiling, never more (auth/token.ts). Revocation
 * flips the state; the key lookup runs on every request, so the very next
 * token is refused, while the records the toolstack left still verify.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import { expectChanges, onUnique, write, type Commit } from '../../audit/log/commit';
import { findRegisteredKey, publicJwk, thumbprint, type Principal } from '../../auth/principals';
import type { TenantScope } from '../../auth/roles';
import { nextRevision, type Database } from '../../platform/db/client';
import { toolstacks, vms as vmsTable } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, type Failure, type Result } from '../../lib/result';
import { NOT_YOURS } from '../../lib/problems';
import { imaging } from '../../recovery/objects/object-kinds';

export interface ToolstackInput {
  name: string;
  publicKey: JWK;
  scopes: TenantScope[];
  vms?: string[];
}

export interface ToolstackView {
  id: string;
  tenant: string;
  name: string;
  kid: string;
  publicKey: JWK;
  scopes: string[];
  vms: string[] | null;
  state: 'active' | 'revoked';
  revokedAt: string | null;
  createdAt: string;
}

function toView(row: typeof toolstacks.$inferSelect): ToolstackView {
  return {
    id: row.id,
    tenant: row.tenantId,
    name: row.name,
    kid: row.kid,
    publicKey: JSON.parse(row.jwk),
    scopes: JSON.parse(row.scopes),
    vms: row.vms ? JSON.parse(row.vms) : null,
    state: row.state,
    revokedAt: row.revokedAt,
    createdAt: row.createdAt,
  };
}

/**
 * Delegated administration (scope `toolstacks`): the owner may grant
 * anything; a toolstack only scopes its own ceiling holds, and it may touch
 * only toolstacks whose ceiling is within its own — so holding `toolstacks`
 * never lets a key grow past what it was given. (Such routes need a
 * tenant-wide token, so the caller's VM limit is all of the tenant's VMs.)
 */
function beyondOwnCeiling(caller: Pick<Principal, 'type' | 'id' | 'ceiling'>, scopes: readonly string[], what: string): Failure<'exceeds_own_ceiling'> | null {
  if (caller.type !== 'toolstack') return null;
  const own = new Set(caller.ceiling?.scopes ?? []);
  const extra = scopes.filter((s) => !own.has(s));
  return extra.length
    ? { code: 'exceeds_own_ceiling', detail: `${caller.id} may not ${what} scopes its own ceiling lacks: ${extra.join(', ')}.`, extensions: { scopes: extra } }
    : null;
}

/** A ceiling's VM list names only the tenant's own VMs; else how many it names that are not. */
async function missingVms(db: Database, tenant: string, vms: readonly string[] | null) {
  if (!vms) return null;
  const owned = await db
    .select({ id: vmsTable.id })
    .from(vmsTable)
    .where(and(eq(vmsTable.tenantId, tenant), sql`${vmsTable.id} IN (SELECT value FROM json_each(${JSON.stringify(vms)}))`));
  const missing = vms.filter((vm) => !owned.some((o) => o.id === vm));
  return missing.length > 0 ? fail('not_found', `${missing.length} of the VMs named in vms do not exist, or are not yours.`) : null;
}

export async function createToolstack(
  db: Database,
  commit: Commit,
  bootstrapJwks: string | undefined,
  tenant: string,
  input: ToolstackInput,
  caller: Pick<Principal, 'type' | 'id' | 'ceiling'>,
): Promise<Result<ToolstackView, 'name_taken' | 'resource_in_use' | 'not_found' | 'exceeds_own_ceiling'>> {
  const beyond = beyondOwnCeiling(caller, input.scopes, 'grant');
  if (beyond) return { ok: false, error: beyond };
  const key = publicJwk(input.publicKey);
  const kid = await thumbprint(key);
  if (await findRegisteredKey(db, bootstrapJwks, kid)) {
    return fail('resource_in_use', `Key ${kid} already belongs to a principal; each toolstack needs its own key.`);
  }
  const vms = input.vms ? [...new Set(input.vms)] : null;
  const missing = await missingVms(db, tenant, vms);
  if (missing) return missing;
  const id = newId('tsk');
  const scopes = [...new Set(input.scopes)];
  const insert = db
    .insert(toolstacks)
    .values({ id, tenantId: tenant, name: input.name, kid, jwk: JSON.stringify(key), scopes: JSON.stringify(scopes), vms: vms ? JSON.stringify(vms) : null });
  const committed = await commit([onUnique(write(insert), { 'toolstacks.kid': 'kid_taken', toolstacks: 'name_taken' })], {
    target: { type: 'toolstack', id },
    details: { kid, scopes, vms },
    objects: [imaging('toolstack', id)],
  });
  if (!committed.ok) {
    if (committed.rejected !== 'unique') throw new Error(committed.message);
    return committed.reason === 'kid_taken'
      ? fail('resource_in_use', `Key ${kid} already belongs to a toolstack.`)
      : fail('name_taken', `This tenant already has a toolstack named ${JSON.stringify(input.name)}.`);
  }
  return getToolstack(db, tenant, id) as Promise<Result<ToolstackView, never>>;
}

export async function listToolstacks(db: Database, tenant: string, page: PageRequest): Promise<Page<ToolstackView>> {
  return keysetPage(
    (after) =>
      db
        .select()
        .from(toolstacks)
        .where(and(eq(toolstacks.tenantId, tenant), after)),
    { key: toolstacks.id, page, view: toView },
  );
}

export async function getToolstack(db: Database, tenant: string, id: string): Promise<Result<ToolstackView, 'not_found'>> {
  return found(
    await firstOf(
      db
        .select()
        .from(toolstacks)
        .where(and(eq(toolstacks.id, id), eq(toolstacks.tenantId, tenant))),
      toView,
    ),
    NOT_YOURS,
  );
}

/** Revokes a toolstack: its next request fails. Revoking a revoked toolstack is a no-op (idempotent DELETE). */
export async function revokeToolstack(
  db: Database,
  commit: Commit,
  tenant: string,
  id: string,
  caller: Pick<Principal, 'type' | 'id' | 'ceiling'>,
): Promise<Result<ToolstackView, 'not_found' | 'exceeds_own_ceiling'>> {
  const target = await getToolstack(db, tenant, id);
  if (!target.ok) return target;
  const beyond = beyondOwnCeiling(caller, target.value.scopes, 'revoke a toolstack with');
  if (beyond) return { ok: false, error: beyond };
  const update = db
    .update(toolstacks)
    .set({ state: 'revoked', revokedAt: sql`strftime('%Y-%m-%dT%H:%M:%fZ','now')`, ...nextRevision(toolstacks.revision) })
    .where(and(eq(toolstacks.id, id), eq(toolstacks.tenantId, tenant), eq(toolstacks.state, 'active')));
  // Nothing changes when it is already revoked (or not this tenant's); the read below tells which.
  await commit([write(update), expectChanges('toolstack.revoke')], { objects: [imaging('toolstack', id)] });
  return getToolstack(db, tenant, id);
}

/** Changes a toolstack's ceiling (scopes, VM limit), guarded on the revision it was read at. */
export async function updateToolstack(
  db: Database,
  commit: Commit,
  tenant: string,
  id: string,
  input: { scopes?: TenantScope[]; vms?: string[] | null },
  caller: Pick<Principal, 'type' | 'id' | 'ceiling'>,
): Promise<Result<ToolstackView, 'not_found' | 'exceeds_own_ceiling' | 'invalid_state'>> {
  const [row] = await db
    .select()
    .from(toolstacks)
    .where(and(eq(toolstacks.id, id), eq(toolstacks.tenantId, tenant)));
  if (!row) return fail('not_found', NOT_YOURS);
  const current = toView(row);
  const beyond = beyondOwnCeiling(caller, current.scopes, 'change a toolstack with') ?? (input.scopes ? beyondOwnCeiling(caller, input.scopes, 'grant') : null);
  if (beyond) return { ok: false, error: beyond };
  if (current.state !== 'active') return fail('invalid_state', `Toolstack ${id} is revoked; register a new one.`, { state: current.state });
  const vms = input.vms === undefined ? current.vms : input.vms === null ? null : [...new Set(input.vms)];
  const missing = await missingVms(db, tenant, vms);
  if (missing) return missing;
  const scopes = input.scopes ? [...new Set(input.scopes)] : current.scopes;
  const update = db
    .update(toolstacks)
    .set({ scopes: JSON.stringify(scopes), vms: vms ? JSON.stringify(vms) : null, ...nextRevision(toolstacks.revision) })
    .where(and(eq(toolstacks.id, id), eq(toolstacks.revision, row.revision), eq(toolstacks.state, 'active')));
  const committed = await commit([write(update), expectChanges('toolstack.update')], {
    target: { type: 'toolstack', id },
    details: { from: { scopes: current.scopes, vms: current.vms }, to: { scopes, vms } },
    objects: [imaging('toolstack', id)],
  });
  if (!committed.ok) return fail('invalid_state', `Toolstack ${id} changed meanwhile; read it again and retry.`);
  return getToolstack(db, tenant, id);
}
