/**
 * Building blocks shared by every route definition: the problem schema, the
 * per-route problem responses, entity-tag headers, the custom-method path
 * convention, and the admin route factory that binds roles to routes.
 */
import { createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { authenticate, requireAdminRole, requireTenantPrincipal, vmCeiling, type TenantAccess, type VmCeilingOptions } from '../auth/middleware';
import { auditScope } from '../middleware/audit';
import { idempotency } from '../middleware/idempotency';
import { jsonBody } from '../middleware/json-body';
import { rateLimitByAddress } from '../middleware/rate-limit';
import type { AdminRole } from '../auth/roles';
import { PROBLEMS, type ProblemCode } from '../lib/problems';
import { PROBLEM_CONTENT_TYPE } from './problem';

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:custodes:problem:no_capacity' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
    requestId: z.string().openapi({ example: 'req_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'Per-field validation errors (`invalid_request`).' }),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: 'RFC 9457 problem details. Switch on `code`; it is stable.' });

/** Problems every route may return: authentication, authorization, rate limits (429), path length (414). */
const AUTH_PROBLEMS = [401, 403, 414, 429] as const;

/** Declares the problem responses of a route, by status code. */
export function problemResponses(...statuses: number[]) {
  const all = [...new Set([400, ...AUTH_PROBLEMS, ...statuses])].sort();
  return Object.fromEntries(
    all.map((status) => {
      const codes = Object.entries(PROBLEMS)
        .filter(([, p]) => p.status === status)
        .map(([code]) => `\`${code}\``);
      return [
        status,
        {
          description: `Problem: ${codes.join(', ')}.`,
          content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
        },
      ];
    }),
  );
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonRequestBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const ETagHeader = z.string().openapi({ description: 'Entity tag of the returned revision; send it back in `If-Match`.' });

export const IfMatchHeaders = z.object({
  'if-match': z
    .string()
    .optional()
    .openapi({ description: 'Apply only if the resource still has this entity tag (RFC 9110 §13.1.1); else 412.' }),
});

export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .openapi({ description: 'Retry-safe key: a repeat with the same key and body replays the first response.' }),
});

/**
 * Custom methods (`POST /hosts/{host}:drain`, Google AIP-136). Hono would read
 * `{host}:drain` as one parameter, so such routes are registered under an
 * internal path `/hosts/{host}/~drain`; `routingPath` maps request paths onto
 * it and `publicPath` maps the OpenAPI document back.
 */
const CUSTOM_METHOD_REQUEST = /^(.*\/[^/:~]+):([a-z][A-Za-z]*)$/;
export const routingPath = (path: string): string => path.replace(CUSTOM_METHOD_REQUEST, '$1/~$2');
export const publicPath = (path: string): string => path.replace(/\/~([a-z][A-Za-z]*)$/, ':$1');
const internalPath = (path: string): string => path.replace(/}:([a-z][A-Za-z]*)$/, '}/~$1');

/** The path as the client sent it (`c.req.path` is the routing path, which differs for custom methods). */
export const requestPath = (c: Context): string => new URL(c.req.url).pathname;

/** Whether an operation takes a request body: one that declares none refuses one (middleware/json-body). */
const takesBody = (config: Pick<RouteConfig, 'request'>): boolean => config.request?.body !== undefined;

/** Every /v1 route is audited, so its token's jti is consumed with the audit record. */
const AUDITED = { consumeJti: 'with-audit-record' } as const;

export interface AdminRouteConfig extends Omit<RouteConfig, 'middleware' | 'security'> {
  /** Required: SDK generators name methods after it. */
  operationId: string;
  /** The audit record's action, e.g. `host.create`. */
  action: string;
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
export function publicRoute<const R extends Omit<RouteConfig, 'middleware' | 'security'> & { operationId: string; action: string }>({
  action,
  ...config
}: R) {
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
  action: string;
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
  return createRoute({
    ...config,
    path: internalPath(config.path) as R['path'],
    description: `${config.description ?? ''}\n\nRequires ${who}${reach === 'tenant-wide' ? ', not limited to some VMs' : ''}. Audited as \`${action}\`.`.trim(),
    security: [{ principalToken: [] }],
    middleware: [auditScope({ action }), authenticate(AUDITED), requireTenantPrincipal(scope), jsonBody({ maxBytes: maxBodyBytes, accepts: takesBody(config) }), vmCeiling({ reach }), idempotency()] as const,
  });
}
