/**
 * Which log a request's record goes to (docs/design.md §5). The tenant's when the
 * request names a tenant's resource — so an admin's denied attempt on a
 * tenant's VM lands in that tenant's log — else the provider's. A resource's
 * own tenant wins over the tenant in the path: when tenant A's token reaches
 * for B's VM, the attempt lands in B's log.
 */
import type { Principal } from '../../auth/principals';
import { bounded, MAX_RECORDED_ID_CHARS } from '../../platform/http/limits';
import type { Target } from '../format/record';
import { PROVIDER_LOG, tenantLog } from '../log/logs';
import { registerIsolateCache } from '../../platform/isolate-caches';

/**
 * Path parameters that name a tenant-owned resource, most specific first, the
 * table that knows its owner, and the record's target type. An access request
 * belongs to the tenant whose VM it asks for: every look at it, every
 * decision and every use, refused ones included, lands in that tenant's log.
 */
const OWNED_RESOURCES = [
  ['vm', 'vms', 'vm'],
  ['disk', 'disks', 'disk'],
  ['snapshot', 'snapshots', 'snapshot'],
  ['toolstack', 'toolstacks', 'toolstack'],
  ['key', 'wrapped_keys', 'key'],
  ['request', 'access_requests', 'access_request'],
] as const;

/**
 * Which log a path names costs a read; the answers barely change, so each
 * isolate remembers them: a resource never changes tenant, and a tenant that
 * existed a minute ago may keep receiving records for that minute after deletion.
 */
const ownerOf = new Map<string, string>();
const knownTenants = new Map<string, number>();
const CACHE_LIMIT = 10_000;
const TENANT_TTL_MS = 60_000;
registerIsolateCache(() => {
  ownerOf.clear();
  knownTenants.clear();
});

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

async function resourceOwner(db: D1Database, table: string, id: string): Promise<string | null> {
  const key = `${table}/${id}`;
  const cached = ownerOf.get(key);
  if (cached) return cached;
  const owner = await db.prepare(`SELECT tenant_id FROM ${table} WHERE id = ?`).bind(id).first<string>('tenant_id');
  if (owner) remember(ownerOf, key, owner);
  return owner;
}

async function tenantExists(db: D1Database, tenant: string): Promise<boolean> {
  if ((knownTenants.get(tenant) ?? 0) > Date.now()) return true;
  const exists = !!(await db.prepare('SELECT 1 AS x FROM tenants WHERE id = ?').bind(tenant).first('x'));
  if (exists) remember(knownTenants, tenant, Date.now() + TENANT_TTL_MS);
  return exists;
}

/** The record's target and log for a route's path parameters. Only existing tenants have logs: a made-up id must not mint one. */
export async function routeLog(db: D1Database, params: Record<string, string | undefined>): Promise<{ target: Target | null; log: string }> {
  const owned = OWNED_RESOURCES.find(([param]) => params[param]);
  if (owned) {
    const [param, table, type] = owned;
    const target = { type, id: bounded(params[param]!, MAX_RECORDED_ID_CHARS) };
    const owner = await resourceOwner(db, table, params[param]!);
    if (owner) return { target, log: tenantLog(owner) };
    return { target, log: params.tenant && (await tenantExists(db, params.tenant)) ? tenantLog(params.tenant) : PROVIDER_LOG };
  }
  if (params.tenant) {
    const target = { type: 'tenant', id: bounded(params.tenant, MAX_RECORDED_ID_CHARS) };
    return { target, log: (await tenantExists(db, params.tenant)) ? tenantLog(params.tenant) : PROVIDER_LOG };
  }
  if (params.host) return { target: { type: 'host', id: bounded(params.host, MAX_RECORDED_ID_CHARS) }, log: PROVIDER_LOG };
  return { target: null, log: PROVIDER_LOG };
}

/** The log a principal may read and so may see named in its answers: its tenant's, or the provider's for admins. */
export const homeLog = (principal: Principal | undefined): string | null =>
  !principal ? null : principal.tenant ? tenantLog(principal.tenant) : principal.type === 'admin' ? PROVIDER_LOG : null;

/**
 * Whether a refusal in `log` comes from outside it — anonymous, or a
 * principal of another tenant — and so may be counted into a summary rather
 * than recorded in full (audit/log/sequencer.ts `appendRefusal`). An admin's
 * refused attempt on a tenant is always recorded in full: watching the
 * watchers is the point.
 */
export const isOutsider = (principal: Principal | undefined, log: string): boolean => !principal || (principal.type !== 'admin' && homeLog(principal) !== log);
