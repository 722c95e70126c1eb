/**
 * The three kinds of route — admin, tenant, public — as factories that bind
 * each route's documentation to its guards, in one order: audit scope (so even
 * a refused request is recorded under the right action and log),
 * the emulator's faults (emulator mode only: after the scope, so an injected
 * failure is recorded under the route's action), authentication, role or
 * tenant check, body checks, reach, idempotency.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { AuditedAction } from '../audit/actions';
import { PROBLEMS, type ProblemCode } from '../lib/problems';
import { auditScope } from '../audit/request/middleware';
import { authenticate, requireAdminRole, requireTenantPrincipal, vmCeiling, type TenantAccess, type VmCeilingOptions } from '../auth/middleware';
import type { AdminRole } from '../auth/roles';
import { idempotency } from '../platform/middleware/idempotency';
import { timingPhase } from '../platform/middleware/server-timing';
import { routeHooks } from '../platform/request-hooks';
import { jsonBody } from '../platform/middleware/json-body';
import { rateLimitByAddress } from '../platform/middleware/rate-limit';
import { internalPath } from '../platform/http/paths';
import { problemResponses } from '../platform/http/responses';

/** Whether an operation takes a request body: one that declares none refuses one (platform/middleware/json-body). */
const takesBody = (config: Pick<RouteConfig, 'request'>): boolean => config.request?.body !== undefined;
/** Whether it also takes the body as bytes (binary contents, lib/page-frames.ts). */
const takesOctets = (config: Pick<RouteConfig, 'request'>): boolean => config.request?.body?.content?.['application/octet-stream'] !== undefined;

/**
 * A path parameter whose schema accepted nothing or `null` would be documented
 * `required: false`, which is invalid OpenAPI and which generators answer by
 * dropping the parameter: refuse it where the route is declared
 * (platform/http/params.ts `wholeNumber` is the whole-number form that passes).
 */
export function requirePathParams(config: Pick<RouteConfig, 'path' | 'request'>): void {
  const params = config.request?.params as { shape?: Record<string, { safeParse(value: unknown): { success: boolean } }> } | undefined;
  for (const [name, schema] of Object.entries(params?.shape ?? {})) {
    if (schema.safeParse(undefined).success || schema.safeParse(null).success)
      throw new Error(`${config.path}: path parameter {${name}} must be required and must not accept null`);
  }
}

/** Where a route sits decides which guards run before its handler, so which problems it can answer. */
type RouteKind = 'admin' | 'tenant' | 'public' | 'unaudited';

const TOKEN_PROBLEMS = (Object.keys(PROBLEMS) as ProblemCode[]).filter((code) => PROBLEMS[code].status === 401);

/**
 * The problem codes the platform's guards can answer for a route of this
 * kind and shape — CORS, path length, rate limits, the audit log, bodies,
 * paging, idempotency, tokens, roles, scopes, reach. The route adds only the
 * codes of its own logic (`problems`), so every operation documents exactly
 * what it can return (test/support/api.ts checks every answer of the suite).
 */
export function platformProblems(kind: RouteKind, config: Pick<RouteConfig, 'method' | 'request'>): ProblemCode[] {
  const { params, query, headers, body } = config.request ?? {};
  const queryShape = (query as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
  const codes: ProblemCode[] = ['origin_not_allowed', 'rate_limited'];
  if (kind === 'unaudited') return codes;
  // The path limit and an unrecordable request are the audit's (audit/request); any service may fail or be unavailable.
  codes.push('uri_too_long');
  codes.push('internal_error', 'audit_unavailable', 'service_unavailable');
  if (params || query || headers || body) codes.push('invalid_request');
  codes.push(...(body ? (['malformed_json', 'payload_too_large', 'unsupported_media_type'] as const) : (['body_not_allowed'] as const)));
  if ('pageToken' in queryShape) codes.push('invalid_page_token');
  if (kind === 'public') return codes;
  codes.push(...TOKEN_PROBLEMS, 'principal_type_not_allowed');
  if (['post', 'put'].includes(config.method))
    codes.push('invalid_idempotency_key', 'idempotency_key_in_use', 'idempotency_key_reused', 'idempotency_response_lost');
  codes.push(
    ...(kind === 'admin' ? (['missing_role', 'bootstrap_retired', 'bootstrap_limited'] as const) : (['missing_scope', 'vm_not_allowed', 'not_found'] as const)),
  );
  return codes;
}

/** A route (without its own `problems`) whose responses include its problem responses: the platform's codes for its kind, and its own. */
function withProblems<C extends Pick<RouteConfig, 'method' | 'request' | 'responses'> & { problems?: readonly ProblemCode[] }>(
  kind: RouteKind,
  { problems = [], ...config }: C,
): Omit<C, 'problems'> {
  // Typed as the route's own responses: a handler returns problems through `ProblemResponse` (never), not these.
  return { ...config, responses: { ...config.responses, ...problemResponses([...platformProblems(kind, config), ...problems]) } };
}

/** Every /v1 route is audited, so its token's jti is consumed with the audit record. */
const AUDITED = { consumeJti: 'with-audit-record' } as const;

/** What every factory takes besides the route object itself. */
interface RouteBasics extends Omit<RouteConfig, 'middleware' | 'security'> {
  /** Required: SDK generators name methods after it. */
  operationId: string;
  /** The audit record's action, e.g. `host.create`. */
  action: AuditedAction;
  /** The problem codes the route's own logic returns; the guards' codes are added (`platformProblems`). */
  problems?: readonly ProblemCode[];
}

export interface AdminRouteConfig extends RouteBasics {
  /** The principal needs at least one of these roles. */
  roles: readonly AdminRole[];
  /** A route of the bootstrap ceremony (enrolling admins): the only ones a bootstrap key may call (governance/admins/bootstrap-ceremony.ts). */
  bootstrap?: boolean;
}

/**
 * An admin route: documented with its roles and guarded by them. Its
 * middleware runs in this order: audit scope (so even a refused request is
 * recorded under the right action and log), authentication, role, body
 * checks, idempotency.
 */
export function adminRoute<const R extends AdminRouteConfig>({ roles, action, bootstrap = false, ...config }: R) {
  requirePathParams(config);
  return createRoute({
    ...withProblems('admin', config),
    path: internalPath(config.path) as R['path'],
    description:
      `${config.description ?? ''}\n\nRequires an admin token with role ${roles.map((r) => `\`${r}\``).join(' or ')}. Audited as \`${action}\`.`.trim(),
    // Machine-readable, for SDKs and for the role × route walk (test/changes.test.ts).
    'x-custodes-roles': roles as AdminRole[],
    security: [{ principalToken: [] }],
    middleware: [
      auditScope({ action }),
      routeHooks(),
      authenticate(AUDITED),
      requireAdminRole(roles, { bootstrap }),
      jsonBody({ accepts: takesBody(config) }),
      idempotency(),
      timingPhase('handler'),
    ] as const,
  });
}

/** A route anyone may call; still audited. */
export function publicRoute<const R extends RouteBasics>({ action, ...config }: R) {
  requirePathParams(config);
  return createRoute({
    ...withProblems('public', config),
    description: `${config.description ?? ''}\n\nNo token needed; limited per client address. Audited as \`${action}\`.`.trim(),
    security: [],
    middleware: [auditScope({ action }), routeHooks(), rateLimitByAddress(), jsonBody({ accepts: takesBody(config) }), timingPhase('handler')] as const,
  });
}

export interface TenantRouteConfig extends RouteBasics {
  /** The tenant scope a toolstack token needs (owners hold them all), or `owner` for the owner alone. */
  scope: TenantAccess;
  /** Largest accepted body (default 1 MiB); content routes carry up to 256 envelopes. */
  maxBodyBytes?: number;
  /** Whether a VM-limited token may use the route (auth/vm-reach.ts); default `per-vm`. */
  reach?: VmCeilingOptions['reach'];
  /** A toolstack without the scope gets the same 404 as another tenant's principal, not 403 (the route does not admit it exists). */
  conceal?: boolean;
}

/** A tenant route (`/tenants/{tenant}/...`): only that tenant's own principals; others get 404. */
export function tenantRoute<const R extends TenantRouteConfig>({ scope, action, maxBodyBytes, reach, conceal, ...config }: R) {
  const who = scope === 'owner' ? "the tenant owner's token (not a toolstack's)" : `the tenant owner's token or a toolstack token with scope \`${scope}\``;
  requirePathParams(config);
  return createRoute({
    ...withProblems('tenant', config),
    path: internalPath(config.path) as R['path'],
    description:
      `${config.description ?? ''}\n\nRequires ${who}${reach === 'tenant-wide' ? ', not limited to some VMs' : ''}. Audited as \`${action}\`.`.trim(),
    security: [{ principalToken: [] }],
    middleware: [
      auditScope({ action }),
      routeHooks(),
      authenticate(AUDITED),
      requireTenantPrincipal(scope, { conceal }),
      jsonBody({ maxBytes: maxBodyBytes, accepts: takesBody(config), octets: takesOctets(config) }),
      vmCeiling({ reach }),
      idempotency(),
      timingPhase('handler'),
    ] as const,
  });
}
