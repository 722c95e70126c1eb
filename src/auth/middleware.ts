/**
 * HTTP face of authentication and authorization: bearer extraction (RFC 6750),
 * token verification, role checks. 401 and 403 carry `WWW-Authenticate` as
 * RFC 6750 §3 asks, plus a problem body with a stable `code`.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { failureResponse, problemResponse } from '../platform/http/problem';
import { overRateLimit } from '../platform/middleware/rate-limit';
import { NOT_YOURS, type ProblemCode } from '../lib/problems';
import { METHODS_WITH_BODY } from '../platform/middleware/json-body';
import { describeReference, firstOutsideReach, type Reference } from './vm-reach-references';
import { claimTokenId, pruneTokenIds } from './token-replays';
import { findRegisteredKey, type Principal } from './principals';
import { bootstrapStanding, mayEnrol } from '../governance/admins/bootstrap-ceremony';
import type { AdminRole, TenantScope } from './roles';
import { verifyPrincipalToken } from './token';
import { outsideReach, vmReachOf, type VmReach } from './vm-reach';
import { enterTimingPhase, timed } from '../platform/middleware/server-timing';

declare module '../env' {
  interface AppVariables {
    /** Who the token names (auth/principals.ts). */
    principal: Principal;
    /** The VMs the principal may reach on a tenant route (auth/vm-reach.ts). */
    reach: VmReach;
  }
}

export const DEFAULT_AUDIENCE = 'custodes';

const INSUFFICIENT_SCOPE = { 'WWW-Authenticate': 'Bearer realm="custodes", error="insufficient_scope"' };

export const REPLAY_CHALLENGE = 'Bearer realm="custodes", error="invalid_token", error_description="token_replayed"';

export interface AuthenticateOptions {
  /**
   * When the token's jti is consumed: `now` (a D1 write before the handler), or
   * `with-audit-record`, in the batch that writes the request's audit record
   * (audit/request/request-audit.ts). The API uses the latter: one write fewer per request,
   * and a replayed token's request is refused as a whole, record included.
   */
  consumeJti?: 'now' | 'with-audit-record';
}

declare module '../platform/request-hooks' {
  interface RequestHooks {
    /** The principal a request acts as without a token, if the stand-in registered it (src/emulator/acting-as.ts). */
    actingPrincipal?(request: Request): Principal | undefined;
  }
}

export function authenticate(options: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  const { consumeJti = 'now' } = options;
  return async function authenticateMiddleware(c, next) {
    // A request without a valid token is counted by its client address; over the limit, that is the answer.
    // A principal a stand-in for the platform vouches for (the emulator's seed); never in a deployment.
    const seeded = c.get('hooks')?.actingPrincipal?.(c.req.raw);
    if (seeded) {
      c.set('principal', seeded);
      return next();
    }
    const refuse = async (code: ProblemCode, detail: string, challenge: string) =>
      (await overRateLimit(c)) ?? problemResponse(c, code, detail, undefined, { 'WWW-Authenticate': challenge });
    const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec((c.req.header('Authorization') ?? '').trim());
    if (!match) return refuse('token_missing', 'Send Authorization: Bearer <JWS> signed by your registered key.', 'Bearer realm="custodes"');
    const db = c.get('db');
    enterTimingPhase(c, 'auth');
    const result = await timed(c, 'token', () =>
      verifyPrincipalToken(match[1]!, {
        audience: c.env.API_AUDIENCE || DEFAULT_AUDIENCE,
        lookupKey: (kid) => timed(c, 'key', () => findRegisteredKey(db, c.env.BOOTSTRAP_ADMIN_JWK, kid, { cached: consumeJti === 'with-audit-record' })),
        claimJti: consumeJti === 'now' ? (principalId, jti, expiresAt) => claimTokenId(db, principalId, jti, expiresAt) : undefined,
      }),
    );
    enterTimingPhase(c, 'guards');
    if (consumeJti === 'with-audit-record') await pruneTokenIds(db);
    if (!result.ok) {
      const { code, detail } = result.error;
      return refuse(code, detail, `Bearer realm="custodes", error="invalid_token", error_description="${code}"`);
    }
    c.set('principal', result.value);
    return (await overRateLimit(c, result.value.id)) ?? next();
  };
}

export interface AdminRoleOptions {
  /** A route of the bootstrap ceremony: a bootstrap key may call it while the ceremony is open. */
  bootstrap?: boolean;
}

/**
 * Admits admins holding at least one of `roles`. A bootstrap key is admitted
 * only to the ceremony's routes, and only while the ceremony is open for it
 * (governance/admins/bootstrap-ceremony.ts).
 */
export function requireAdminRole(roles: readonly AdminRole[], { bootstrap = false }: AdminRoleOptions = {}): MiddlewareHandler<AppEnv> {
  return async function requireAdminRoleMiddleware(c, next) {
    const principal = c.get('principal');
    if (principal.type !== 'admin') {
      const detail = `This route is for admins; the token belongs to a ${principal.type}.`;
      return problemResponse(c, 'principal_type_not_allowed', detail, undefined, INSUFFICIENT_SCOPE);
    }
    if (principal.bootstrap) {
      const standing = await bootstrapStanding(c.get('db'), principal.id);
      if (!mayEnrol(standing)) {
        const detail = `${principal.id} is a bootstrap key, retired since ${standing.securityAdmins} enrolled admins hold security: sign with an enrolled admin's key. Re-enabling a bootstrap key is a two-person change (POST /v1/admin/admins/${principal.id}:reenable).`;
        return problemResponse(c, 'bootstrap_retired', detail, undefined, INSUFFICIENT_SCOPE);
      }
      if (!bootstrap) {
        const detail = `${principal.id} is a bootstrap key: it only enrols the first admins (POST /v1/admin/admins, PATCH /v1/admin/admins/{admin}) and never proposes or approves a change. Sign with an enrolled admin's key.`;
        return problemResponse(c, 'bootstrap_limited', detail, undefined, INSUFFICIENT_SCOPE);
      }
    }
    if (!roles.some((role) => principal.roles.includes(role))) {
      // The roles may come from the isolate's key cache: before refusing, read them afresh,
      // so a role granted a moment ago works on the very next request.
      const fresh = await findRegisteredKey(c.get('db'), c.env.BOOTSTRAP_ADMIN_JWK, principal.kid);
      if (fresh?.type === 'admin' && roles.some((role) => fresh.roles.includes(role))) {
        c.set('principal', { ...principal, roles: fresh.roles, stillValid: fresh.stillValid });
        return next();
      }
      const detail = `${principal.id} needs one of the roles ${roles.join(', ')}.`;
      return problemResponse(c, 'missing_role', detail, { requiredRoles: roles }, INSUFFICIENT_SCOPE);
    }
    return next();
  };
}

/** What a tenant route demands: a tenant scope, or the owner itself (toolstack management). */
export type TenantAccess = TenantScope | 'owner';

/**
 * Admits the tenant's own principals: its owner, who holds every scope, and
 * its toolstacks, whose token must carry `access` (403 `missing_scope`).
 * Anyone else — admins, other tenants and their toolstacks — gets 404, not
 * 403, with a detail that names nothing, so tenant ids cannot be probed
 * (docs/design.md §3). The VM ceiling is `vmCeiling`'s, which runs once the body is read.
 */
export function requireTenantPrincipal(access: TenantAccess, { conceal = false }: { conceal?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async function requireTenantPrincipalMiddleware(c, next) {
    const principal = c.get('principal');
    if (principal.tenant === undefined || principal.tenant !== c.req.param('tenant')) {
      return problemResponse(c, 'not_found', NOT_YOURS);
    }
    if (principal.type === 'toolstack') {
      if (access === 'owner') {
        return problemResponse(c, 'principal_type_not_allowed', 'Only the tenant owner may do this, not a toolstack.', undefined, INSUFFICIENT_SCOPE);
      }
      if (!principal.scopes.includes(access)) {
        // Concealed routes answer a missing scope as they answer a stranger: nothing to learn from the difference.
        if (conceal) return problemResponse(c, 'not_found', NOT_YOURS);
        return problemResponse(
          c,
          'missing_scope',
          `This needs scope ${access}; the token has "${principal.scopes.join(' ')}".`,
          { requiredScope: access },
          INSUFFICIENT_SCOPE,
        );
      }
    }
    return next();
  };
}

export interface VmCeilingOptions {
  /**
   * `tenant-wide`: the route serves a view of the whole tenant that cannot be
   * cut by VM (the audit log's records), so a VM-limited token is refused.
   */
  reach?: 'per-vm' | 'tenant-wide';
}

/** Path parameters, body members and query parameters that name something with a VM (auth/vm-reach.ts). */
function referencesOf(params: Record<string, string | undefined>, body: unknown, query: Record<string, string>): Reference[] {
  const refs: Reference[] = [];
  if (params.vm) refs.push({ kind: 'vm', id: params.vm });
  if (params.disk) refs.push({ kind: 'disk', id: params.disk });
  if (params.snapshot) refs.push({ kind: 'snapshot', id: params.snapshot });
  if (params.name) refs.push({ kind: 'label', name: params.name });
  if (params.plan) refs.push({ kind: 'plan', id: params.plan });
  if (body && typeof body === 'object') {
    const { vm, disk } = body as Record<string, unknown>;
    if (typeof vm === 'string') refs.push({ kind: 'vm', id: vm });
    if (typeof disk === 'string') refs.push({ kind: 'disk', id: disk });
  }
  if (query.vm) refs.push({ kind: 'vm', id: query.vm });
  return refs;
}

/**
 * The VM-reach rule at the door of every tenant route: sets `reach` for the
 * services, and refuses (403 `vm_not_allowed`) any explicit reference —
 * path, body or query — to a VM, disk, snapshot, label or plan outside it.
 */
export function vmCeiling(options: VmCeilingOptions = {}): MiddlewareHandler<AppEnv> {
  const { reach: routeReach = 'per-vm' } = options;
  return async function vmCeilingMiddleware(c, next) {
    const reach = vmReachOf(c.get('principal'));
    c.set('reach', reach);
    if (reach.all) return next();
    if (routeReach === 'tenant-wide') {
      return problemResponse(
        c,
        'vm_not_allowed',
        'This view covers every VM of the tenant; it needs a token that is not limited to some VMs.',
        undefined,
        INSUFFICIENT_SCOPE,
      );
    }
    // jsonBody ran first: the body is empty, valid JSON already parsed behind c.req.json(), or bytes (a page
    // frame, which names pages of the resource in the path and nothing else).
    const json = METHODS_WITH_BODY.has(c.req.method) && !c.get('octets') && (await c.req.text());
    const body: unknown = json ? await c.req.json() : null;
    const outside = await firstOutsideReach(c.get('db'), c.req.param('tenant')!, reach, referencesOf(c.req.param(), body, c.req.query()));
    if (outside) return failureResponse(c, outsideReach(reach, describeReference(outside)).error, INSUFFICIENT_SCOPE);
    return next();
  };
}
