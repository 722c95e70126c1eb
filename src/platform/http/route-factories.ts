/**
 * The three kinds of route — admin, tenant, public — as factories that bind
 * each route's documentation to its guards, in one order: audit scope (so even
 * a refused request is recorded under the right action and log),
 * authentication, role or tenant check, body checks, reach, idempotency.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { AuditedAction } from '../../audit/actions';
import { auditScope } from '../../audit/request/middleware';
import { authenticate, requireAdminRole, requireTenantPrincipal, vmCeiling, type TenantAccess, type VmCeilingOptions } from '../../auth/middleware';
import type { AdminRole } from '../../auth/roles';
import { idempotency } from '../middleware/idempotency';
import { jsonBody } from '../middleware/json-body';
import { rateLimitByAddress } from '../middleware/rate-limit';
import { internalPath } from './paths';
import { problemResponses } from './responses';

/** Whether an operation takes a request body: one that declares none refuses one (platform/middleware/json-body). */
const takesBody = (config: Pick<RouteConfig, 'request'>): boolean => config.request?.body !== undefined;

/**
 * A path parameter whose schema accepted nothing or `null` would be documented
 * `required: false`, which is invalid OpenAPI and which generators answer by
 * dropping the parameter: refuse it where the route is declared
 * (platform/http/params.ts `wholeNumber` is the whole-number form that passes).
 */
export function requirePathParams(config: Pick<RouteConfig, 'path' | 'request'>): void {
  const params = config.request?.params as { shape?: Record<string, { safeParse(value: unknown): { success: boolean } }> } | undefined;
  for (const [name, schema] of Object.entries(params?.shape ?? {})) {
    if (schema.safeParse(undefined).success || schema.safeParse(null).success) throw new Error(`${config.path}: path parameter {${name}} must be required and must not accept null`);
  }
}

/** Every /v1 route is audited, so its token's jti is consumed with the audit record. */
const AUDITED = { consumeJti: 'with-audit-record' } as const;

export interface AdminRouteConfig extends Omit<RouteConfig, 'middleware' | 'security'> {
  /** Required: SDK generators name methods after it. */
  operationId: string;
  /** The audit record's action, e.g. `host.create`. */
  action: AuditedAction;
  /** The principal needs at least one of these roles. */
  roles: readonly AdminRole[];
}

/**
 * An admin route: documented with its roles and guarded by them. Its
 * middleware runs in this order: audit scope (so even a refused request is
 * recorded under the right action and log), authentication, role, body
 * checks, idempotency.
 */
export function adminRoute<const R extends AdminRouteConfig>({ roles, action, ...config }: R) {
  requirePathParams(config);
  return createRoute({
    ...config,
    path: internalPath(config.path) as R['path'],
    description: `${config.description ?? ''}\n\nRequires an admin token with role ${roles.map((r) => `\`${r}\``).join(' or ')}. Audited as \`${action}\`.`.trim(),
    // Machine-readable, for SDKs and for the role × route walk (test/changes.test.ts).
    'x-custodes-roles': roles as AdminRole[],
    security: [{ principalToken: [] }],
    middleware: [auditScope({ action }), authenticate(AUDITED), requireAdminRole(...roles), jsonBody({ accepts: takesBody(config) }), idempotency()] as const,
  });
}

/** A route anyone may call; still audited. */
export function publicRoute<const R extends Omit<RouteConfig, 'middleware' | 'security'> & { operationId: string; action: AuditedAction }>({
  action,
  ...config
}: R) {
  requirePathParams(config);
  const { 400: badRequest, 414: tooLong, 429: tooMany } = problemResponses();
  return createRoute({
    ...config,
    responses: { ...config.responses, 400: badRequest!, 414: tooLong!, 429: tooMany! },
    description: `${config.description ?? ''}\n\nNo token needed; limited per client address. Audited as \`${action}\`.`.trim(),
    security: [],
    middleware: [auditScope({ action }), rateLimitByAddress(), jsonBody({ accepts: takesBody(config) })] as const,
  });
}

export interface TenantRouteConfig extends Omit<RouteConfig, 'middleware' | 'security'> {
  operationId: string;
  action: AuditedAction;
  /** The tenant scope a toolstack token needs (owners hold them all), or `owner` for the owner alone. */
  scope: TenantAccess;
  /** Largest accepted body (default 1 MiB); content routes carry up to 256 envelopes. */
  maxBodyBytes?: number;
  /** Whether a VM-limited token may use the route (auth/vm-reach.ts); default `per-vm`. */
  reach?: VmCeilingOptions['reach'];
}

/** A tenant route (`/tenants/{tenant}/...`): only that tenant's own principals; others get 404. */
export function tenantRoute<const R extends TenantRouteConfig>({ scope, action, maxBodyBytes, reach, ...config }: R) {
  const who = scope === 'owner' ? 'the tenant owner\'s token (not a toolstack\'s)' : `the tenant owner's token or a toolstack token with scope \`${scope}\``;
  requirePathParams(config);
  return createRoute({
    ...config,
    path: internalPath(config.path) as R['path'],
    description: `${config.description ?? ''}\n\nRequires ${who}${reach === 'tenant-wide' ? ', not limited to some VMs' : ''}. Audited as \`${action}\`.`.trim(),
    security: [{ principalToken: [] }],
    middleware: [auditScope({ action }), authenticate(AUDITED), requireTenantPrincipal(scope), jsonBody({ maxBytes: maxBodyBytes, accepts: takesBody(config) }), vmCeiling({ reach }), idempotency()] as const,
  });
}
