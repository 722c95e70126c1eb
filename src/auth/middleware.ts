/**
 * HTTP face of authentication and authorization: bearer extraction (RFC 6750),
 * token verification, role checks. 401 and 403 carry `WWW-Authenticate` as
 * RFC 6750 §3 asks, plus a problem body with a stable `code`.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { problemResponse } from '../http/problem';
import { claimTokenId } from '../services/token-replays';
import { findRegisteredKey } from './principals';
import type { AdminRole } from './roles';
import { verifyPrincipalToken } from './token';

export const DEFAULT_AUDIENCE = 'custodes';

const INSUFFICIENT_SCOPE = { 'WWW-Authenticate': 'Bearer realm="custodes", error="insufficient_scope"' };

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
    if (!match) {
      return problemResponse(c, 'token_missing', 'Send Authorization: Bearer <JWS> signed by your registered key.', undefined, {
        'WWW-Authenticate': 'Bearer realm="custodes"',
      });
    }
    const db = c.get('db');
    const result = await verifyPrincipalToken(match[1]!, {
      audience: c.env.API_AUDIENCE || DEFAULT_AUDIENCE,
      lookupKey: (kid) => findRegisteredKey(db, c.env.BOOTSTRAP_ADMIN_JWK, kid),
      claimJti: (principalId, jti, expiresAt) => claimTokenId(db, principalId, jti, expiresAt),
    });
    if (!result.ok) {
      const { code, detail } = result.error;
      return problemResponse(c, code, detail, undefined, {
        'WWW-Authenticate': `Bearer realm="custodes", error="invalid_token", error_description="${code}"`,
      });
    }
    c.set('principal', result.value);
    return next();
  };
}

/** Admits admins holding at least one of `roles`. */
export function requireAdminRole(...roles: AdminRole[]): MiddlewareHandler<AppEnv> {
  return async function requireAdminRoleMiddleware(c, next) {
    const principal = c.get('principal');
    if (principal.type !== 'admin') {
      const detail = `This route is for admins; the token belongs to a ${principal.type}.`;
      return problemResponse(c, 'principal_type_not_allowed', detail, undefined, INSUFFICIENT_SCOPE);
    }
    if (!roles.some((role) => principal.roles.includes(role))) {
      const detail = `${principal.id} needs one of the roles ${roles.join(', ')}.`;
      return problemResponse(c, 'missing_role', detail, { requiredRoles: roles }, INSUFFICIENT_SCOPE);
    }
    return next();
  };
}

/**
 * Admits the tenant's own principals. Today that is its owner, who holds every
 * tenant scope; toolstack principals do not exist yet, so no token carries a
 * narrower scope to check. Anyone else gets 404, not 403, so that tenant ids
 * cannot be probed (DESIGN §3).
 */
export function requireTenantOwner(): MiddlewareHandler<AppEnv> {
  return async function requireTenantOwnerMiddleware(c, next) {
    const principal = c.get('principal');
    const tenant = c.req.param('tenant');
    if (principal.type !== 'tenant' || principal.id !== tenant) {
      return problemResponse(c, 'not_found', `Tenant ${tenant} does not exist or is not yours.`);
    }
    return next();
  };
}
