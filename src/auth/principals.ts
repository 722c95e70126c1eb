/**
 * Who may present a token: the registry that maps a key id (RFC 7638
 * thumbprint) to a principal and its public JWK. The server never holds a
 * private key of any principal (docs/design.md §2).
 *
 * Bootstrap admins come from env `BOOTSTRAP_ADMIN_JWK` (a JWKS); their ids are
 * `adm_bootstrap`, `adm_bootstrap2`, … in key order. They exist only to enrol
 * the first admins, and retire once two enrolled admins hold `security`
 * (docs/design.md §7; governance/admins/bootstrap-ceremony.ts). Everyone else
 * is a row in D1.
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import { sql } from 'drizzle-orm';
import type { WriteStatement } from '../audit/log/commit';
import type { Database } from '../platform/db/client';
import { ADMIN_ROLES, type AdminRole } from './roles';
import { registerIsolateCache } from '../platform/isolate-caches';

export type PrincipalType = 'admin' | 'tenant' | 'toolstack';

/** A registered public key and the principal it authenticates. */
export interface RegisteredKey {
  type: PrincipalType;
  id: string;
  kid: string;
  jwk: JWK;
  /** Admin roles; empty for tenants and toolstacks. */
  roles: readonly AdminRole[];
  /** The tenant a tenant owner or toolstack acts for. */
  tenant?: string;
  /** A bootstrap admin (env): it may only enrol admins, and only while the ceremony is open. */
  bootstrap?: true;
  /** A toolstack's ceiling: the scopes and VMs its tokens may ask for (VMs null: all of the tenant's). */
  ceiling?: { scopes: readonly string[]; vms: readonly string[] | null };
  /**
   * For keys registered in D1: the statement that, in the request's audit
   * batch, aborts it unless the key's row is still exactly what was read
   * (platform/db/schema `principal_assertions`). Bootstrap admins live in env: none.
   */
  stillValid?: WriteStatement;
}

/** A principal authenticated by a verified token. */
export interface Principal extends RegisteredKey {
  jti: string;
  /**
   * The token's `sid` claim: the client session that minted it. Tokens are
   * single-use (one `jti` per request), so recovery follows sessions by `sid`
   * (docs/design.md §6 rule 2); a token without one is a session of its own.
   */
  sid?: string;
  scopes: readonly string[];
  /** VM ids the token is limited to, when the token says so. */
  vms?: readonly string[];
  expiresAt: number;
}

/** Public members only: a stored or echoed JWK must never carry private material. */
export function publicJwk(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JWK;
}

export const thumbprint = (jwk: JWK): Promise<string> => calculateJwkThumbprint(publicJwk(jwk), 'sha256');

export const bootstrapAdminId = (position: number): string => (position === 0 ? 'adm_bootstrap' : `adm_bootstrap${position + 1}`);

const bootstrapCache = new Map<string, Promise<Map<string, RegisteredKey>>>();

/** Parses the bootstrap JWKS once per isolate (the env string is the cache key). */
export function bootstrapAdmins(jwks: string | undefined): Promise<Map<string, RegisteredKey>> {
  if (!jwks) return Promise.resolve(new Map());
  let cached = bootstrapCache.get(jwks);
  if (!cached) {
    cached = parseBootstrapAdmins(jwks);
    bootstrapCache.set(jwks, cached);
  }
  return cached;
}

async function parseBootstrapAdmins(jwks: string): Promise<Map<string, RegisteredKey>> {
  const parsed = JSON.parse(jwks) as { keys?: JWK[] } | JWK;
  const keys = 'keys' in parsed && Array.isArray(parsed.keys) ? parsed.keys : [parsed as JWK];
  const byKid = new Map<string, RegisteredKey>();
  for (const [position, key] of keys.entries()) {
    const jwk = publicJwk(key);
    const kid = await thumbprint(jwk);
    byKid.set(kid, { type: 'admin', id: bootstrapAdminId(position), kid, jwk, roles: ADMIN_ROLES, bootstrap: true });
  }
  return byKid;
}

/**
 * Keys found in D1, per isolate. A cached key may have been revoked or changed
 * since; its `stillValid` assertion, in the request's audit batch, refuses the
 * request then, and the entry is forgotten (`forgetRegisteredKey`).
 */
const keyCache = new Map<string, { key: RegisteredKey; until: number }>();
const KEY_CACHE_TTL_MS = 5 * 60_000;
const KEY_CACHE_LIMIT = 10_000;
registerIsolateCache(() => keyCache.clear());

export const forgetRegisteredKey = (kid: string): void => void keyCache.delete(kid);

/**
 * Finds the principal that owns `kid`, or null when the key is unknown or
 * revoked. `cached`: may answer from the isolate cache (authentication, whose
 * audit batch re-checks the row); registration checks always read D1.
 */
export async function findRegisteredKey(
  db: Database,
  bootstrapJwks: string | undefined,
  kid: string,
  options: { cached?: boolean } = {},
): Promise<RegisteredKey | null> {
  const bootstrap = (await bootstrapAdmins(bootstrapJwks)).get(kid);
  if (bootstrap) return bootstrap;
  const hit = options.cached ? keyCache.get(kid) : undefined;
  if (hit && hit.until > Date.now()) return hit.key;

  // One round trip for the three registries (a kid is unique across them: createTenant and
  // createToolstack refuse a key any principal holds).
  const [row] = await db.all<{
    type: PrincipalType;
    id: string;
    jwk: string;
    roles: string | null;
    tenant: string | null;
    scopes: string | null;
    vms: string | null;
  }>(sql`
    SELECT 'admin' AS type, id, jwk, roles, NULL AS tenant, NULL AS scopes, NULL AS vms FROM admins WHERE kid = ${kid} AND state = 'active'
    UNION ALL SELECT 'tenant', id, owner_jwk, NULL, id, NULL, NULL FROM tenants WHERE owner_kid = ${kid} AND state = 'active'
    UNION ALL SELECT 'toolstack', id, jwk, NULL, tenant_id, scopes, vms FROM toolstacks WHERE kid = ${kid} AND state = 'active'
    LIMIT 1`);
  if (!row) return null;
  const jwk = JSON.parse(row.jwk) as JWK;
  const assert = (query: string, ...params: unknown[]): WriteStatement => ({ sql: `INSERT INTO principal_assertions (actual) ${query}`, params });
  let key: RegisteredKey;
  if (row.type === 'admin') {
    const stillValid = assert("SELECT count(*) FROM admins WHERE kid = ? AND state = 'active' AND roles = ?", kid, row.roles);
    key = { type: 'admin', id: row.id, kid, jwk, roles: JSON.parse(row.roles!), stillValid };
  } else if (row.type === 'tenant') {
    const stillValid = assert("SELECT count(*) FROM tenants WHERE owner_kid = ? AND state = 'active'", kid);
    key = { type: 'tenant', id: row.id, kid, jwk, roles: [], tenant: row.tenant!, stillValid };
  } else {
    const stillValid = assert("SELECT count(*) FROM toolstacks WHERE kid = ? AND state = 'active' AND scopes = ? AND vms IS ?", kid, row.scopes, row.vms);
    const ceiling = { scopes: JSON.parse(row.scopes!) as string[], vms: row.vms ? (JSON.parse(row.vms) as string[]) : null };
    key = { type: 'toolstack', id: row.id, kid, jwk, roles: [], tenant: row.tenant!, ceiling, stillValid };
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(kid, { key, until: Date.now() + KEY_CACHE_TTL_MS });
  return key;
}
