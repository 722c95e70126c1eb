/**
 * The app factory: one place that assembles middleware, routes, the OpenAPI
 * document and error handling. The Worker (src/index.ts), the tests and the
 * spec generator all build the app here, so they cannot drift apart.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { getPath } from 'hono/utils/url';
import { createDb } from './platform/db/client';
import type { AppEnv } from './env';
import { publicPath, requestPath, routingPath } from './platform/http/paths';
import { problemResponse } from './platform/http/problem';
import { createRouter } from './platform/http/router';
import { auditRequests, refusedResponse } from './audit/request/middleware';
import { deploymentOnRecord } from './audit/deployment/on-record';
import { IdempotencyClaimLost, TokenRefused } from './audit/request/request-audit';
import { requestId } from './platform/middleware/request-id';
import { schemaGate } from './platform/middleware/schema-gate';
import { securityHeaders } from './platform/middleware/security-headers';
import { cors } from './platform/middleware/cors';
import { conditionalGet } from './platform/middleware/conditional-get';
import { auditRouter, wellKnownRouter } from './audit/api/audit.index';
import { hostsRouter } from './provider/hosts/hosts.index';
import { databasesRouter } from './provider/databases/databases.index';
import { API_VERSION, healthRouter } from './http/health/health.index';
import { tenantsRouter } from './provider/tenants/tenants.index';
import { vmsRouter } from './provider/vms/vms.index';
import { disksRouter } from './tenant/disks/disks.index';
import { keysRouter } from './tenant/keys/keys.index';
import { contentsRouter } from './tenant/contents/contents.index';
import { snapshotsRouter } from './tenant/snapshots/snapshots.index';
import { tenantVmsRouter } from './tenant/vms/tenant-vms.index';
import { toolstacksRouter } from './tenant/toolstacks/toolstacks.index';
import { labelsRouter } from './recovery/labels/labels.index';
import { exposureRouter } from './recovery/exposure/exposure.index';
import { recoveryRouter } from './recovery/plans/plans.index';
import { rotationsRouter } from './recovery/rotations/rotations.index';
import { alertsRouter } from './audit/alerts/alerts.index';
import { changesRouter } from './governance/changes/changes.index';
import { adminsRouter } from './governance/admins/admins.index';
import { accessRequestsRouter } from './governance/access-requests/access-requests.index';
import { accessPolicyRouter } from './governance/access-policy/access-policy.index';
import { auditKeysRouter } from './governance/audit-keys/audit-keys.index';
import { infoRouter } from './http/info/info.index';
import { emulatorRuntime } from './emulator/middleware';
import { serverTiming } from './platform/middleware/server-timing';
import { emulatorEnabled } from './platform/emulator-mode';
import { emulatorRouter } from './emulator/emulator.index';
import { emulatorControlGuard, emulatorHostCheck } from './emulator/guard';
import { applySchema } from './emulator/schema';
import type { Context } from 'hono';

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ getPath: (request) => routingPath(getPath(request)) });

  app.use('*', requestId());
  // Emulator mode only: a local start's migrations, applied here before anything reads a table (src/emulator/schema.ts).
  app.post(
    '/_emulator/schema',
    emulatorHostCheck(),
    async function schemaInEmulatorOnly(c, next) {
      return emulatorEnabled(c.env) ? next() : routeNotFound(c);
    },
    emulatorControlGuard(),
    applySchema,
  );
  app.use('*', schemaGate()); // a local start answers 503 until its migrations are applied (platform/middleware/schema-gate)
  app.use('*', serverTiming()); // when on: the request's bindings timed, before anything uses them
  app.use('*', async function apiHeaders(c, next) {
    c.set('db', createDb(c.env.DB));
    await next();
    // Responses may carry tenant metadata: never cache them in shared caches.
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  // The docs' renderer (Scalar) injects its styles at run time: 'unsafe-inline' for styles only, never scripts.
  app.use('*', securityHeaders({ styleSrc: "'unsafe-inline'" }));
  app.use('*', emulatorHostCheck()); // emulator mode only: a DNS-rebound Host is refused (src/emulator/guard)
  app.use('*', emulatorRuntime()); // emulator mode only: its clock, and the recorder (src/emulator)
  app.use('*', cors()); // preflights are answered here, unaudited (platform/middleware/cors)
  app.use('/v1/*', deploymentOnRecord()); // the build and configuration on the record before the first request is (audit/deployment)
  app.use('/v1/*', auditRequests());
  app.use('/v1/*', conditionalGet());

  const v1 = createRouter()
    .route('/', healthRouter)
    .route('/', infoRouter)
    .route('/', hostsRouter)
    .route('/', databasesRouter)
    .route('/', tenantsRouter)
    .route('/', vmsRouter)
    .route('/', toolstacksRouter)
    .route('/', tenantVmsRouter)
    .route('/', contentsRouter)
    .route('/', disksRouter)
    .route('/', snapshotsRouter)
    .route('/', keysRouter)
    .route('/', labelsRouter)
    .route('/', exposureRouter)
    .route('/', recoveryRouter)
    .route('/', rotationsRouter)
    .route('/', alertsRouter)
    .route('/', changesRouter)
    .route('/', adminsRouter)
    .route('/', accessRequestsRouter)
    .route('/', accessPolicyRouter)
    .route('/', auditKeysRouter)
    .route('/', auditRouter);
  app.route('/v1', v1);

  app.openAPIRegistry.registerComponent('securitySchemes', 'principalToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "A JWS (EdDSA or ES256) signed by the principal's own key: `kid` = RFC 7638 thumbprint, `iss` = `sub` = principal id, `aud` = `custodes`, `exp` ≤ 15 min after `iat`, single-use `jti`.",
  });
  let document: ReturnType<typeof openApiDocument> | undefined; // built once, on first request
  // `servers` names the origin the document was fetched from, so a generator pointed at it calls this server.
  app.get('/openapi.json', (c) => {
    document ??= openApiDocument(app);
    return c.json({ ...document, servers: [{ url: new URL(c.req.url).origin, description: 'This server' }] });
  });
  app.route('/', wellKnownRouter);
  // The bundle is a static asset (public/vendor, from npm): the page works with no network at all,
  // and it has no inline script (a strict CSP): the page loads the bundle, then /docs/init.js starts it.
  app.get('/docs', (c) => c.html(DOCS_PAGE));
  app.get('/docs/init.js', (c) => c.body(DOCS_INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));

  // The emulator's controls exist only in emulator mode; elsewhere these paths get the answer of any unknown path.
  app.use('/_emulator/*', async function emulatorOnly(c, next) {
    return emulatorEnabled(c.env) ? next() : routeNotFound(c);
  });
  app.use('/_emulator/*', emulatorControlGuard()); // the instance's control token, no foreign Origin
  app.route(
    '/_emulator',
    emulatorRouter((request, env) => Promise.resolve(app.fetch(request, env))),
  );

  const allowedMethods = routeMethods(app);
  const routeNotFound = (c: Context<AppEnv>) => problemResponse(c, 'route_not_found', `No route for ${c.req.method} ${requestPath(c)}; see /docs.`);
  app.notFound((c) => {
    const allowed = allowedMethods(routingPath(requestPath(c)));
    if (allowed.length === 0) return routeNotFound(c);
    // RFC 9110 §15.5.6: the route exists; say which methods it takes.
    return problemResponse(
      c,
      'method_not_allowed',
      `${requestPath(c)} takes ${allowed.join(', ')}, not ${c.req.method}.`,
      { allowed },
      { Allow: allowed.join(', ') },
    );
  });
  app.onError((error, c) => {
    if (error instanceof TokenRefused) return refusedResponse(c, error.reason);
    if (error instanceof IdempotencyClaimLost) {
      return problemResponse(
        c,
        'idempotency_key_in_use',
        'Another request took this Idempotency-Key while this one ran; nothing was done. Retry to get its answer.',
        undefined,
        { 'Retry-After': '1' },
      );
    }
    // Hono's own request errors (its validators' 400/415, body limits' 413) as problems too.
    if (error instanceof HTTPException) {
      const code = error.status === 413 ? 'payload_too_large' : error.status === 415 ? 'unsupported_media_type' : 'invalid_request';
      return problemResponse(c, code, error.message);
    }
    console.error(`[${c.get('requestId')}]`, error);
    return problemResponse(c, 'internal_error', 'An unexpected error occurred; quote the requestId when reporting it.');
  });
  return app;
}

export type App = ReturnType<typeof createApp>;

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Custodes API</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
  <div id="app"></div>
  <script src="/vendor/scalar/api-reference.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/** Starts the reference on the spec this server serves; no AI assistant, nothing that calls another host. */
// No AI agent, no MCP, and no developer toolbar (on localhost it offers "Ask AI" and to upload the spec to Scalar's cloud).
const DOCS_INIT = `Scalar.createApiReference('#app', ${JSON.stringify({ url: '/openapi.json', withDefaultFonts: false, hideClientButton: false, agent: { disabled: true }, mcp: { disabled: true }, showDeveloperTools: 'never' })});\n`;

/** For a request path (in routing form), the methods some route takes there — HEAD wherever GET is. */
function routeMethods(app: OpenAPIHono<AppEnv>): (path: string) => string[] {
  let table: { method: string; pattern: RegExp }[] | undefined; // built on first use, once every route is registered
  return (path) => {
    table ??= app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => ({ method: r.method, pattern: new RegExp(`^${r.path.replace(/[.~]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`) }));
    const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods];
  };
}

export function openApiDocument(app: App) {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Custodes API',
      version: API_VERSION,
      contact: { name: 'Custodes maintainers' },
      description:
        "A cloud provider control plane in which the provider's own administrators are watched. Provider admins provision; only tenant-held keys reach guest contents. Errors are RFC 9457 problem+json with a stable `code`.\n\n" +
        '**Limits.** Bearer tokens ≤ 4096 characters (401 `token_too_large`); `jti` and `sid` 1–128 characters of `A–Z a–z 0–9 . _ ~ : -`; `scope` ≤ 512 characters; `vms` ≤ 64 VM ids (401 `token_claims_invalid`). ' +
        'Request paths ≤ 2048 characters (414 `uri_too_long`). Bodies ≤ 1 MiB (page and block writes 2 MiB), counted as they are read (413 `payload_too_large`); an operation without a request body refuses one (400 `body_not_allowed`). ' +
        'Rate limits (429 `rate_limited`, with `Retry-After`): 5000 requests per 10 s per principal; 100 per 10 s per client address for requests without a valid token. ' +
        "Records hold bounded strings only (paths ≤ 2048, ids ≤ 128 characters). Refusals by outsiders of a log (anonymous, or another tenant's principals) are recorded in full up to 16 per log per minute, then counted into one signed `audit.refusals.summarize` record per minute.\n\n" +
        "**Audit header.** `Custodes-Audit: log=…; index=…` names the record to a caller who may read that log (its own tenant's; the provider's for admins); anyone else gets `receipt=…`, which reveals neither, and which the log's reader opens at `…/audit/receipts/{receipt}`.",
    },
    servers: [{ url: 'http://127.0.0.1:8787', description: 'Local (npm start)' }],
    tags: [
      { name: 'health', description: 'Liveness.' },
      { name: 'hosts', description: 'Provider capacity (admin).' },
      { name: 'databases', description: "How full the provider's D1 databases are (admin)." },
      { name: 'tenants', description: 'Tenants, their owner keys and quota slices (admin).' },
      { name: 'vms', description: 'VM provisioning: placement, resize, migration (admin). No route reaches guest contents.' },
      { name: 'toolstacks', description: 'Tenant-held keys with a scope ceiling: the only way to guest contents (tenant owner).' },
      { name: 'tenant vms', description: "The tenant's own view of its VMs: list, power control, self-service create." },
      { name: 'memory', description: 'Guest memory pages as client-encrypted envelopes, with retained versions.' },
      { name: 'disks', description: 'Tenant disks and their blocks, as client-encrypted envelopes.' },
      { name: 'snapshots', description: 'Server-side snapshots and restores, by reference to ciphertext versions.' },
      { name: 'keys', description: 'Opaque wrapped data keys (JWE) the provider cannot open.' },
      { name: 'labels', description: 'Named regions of memory or disk that hold secrets: what the exposure report is about (tenant).' },
      { name: 'exposure', description: 'Who read which labelled region, and which versions (tenant).' },
      { name: 'recovery', description: "Recovery plans: undo an intrusion's effects, and only those (tenant)." },
      { name: 'changes', description: 'The two-person rule: significant admin changes wait for a second admin.' },
      { name: 'admins', description: 'Provider admins and their roles.' },
      { name: 'access requests', description: 'The lockbox: an operator asks for access to a tenant VM; the tenant decides.' },
      { name: 'audit', description: 'Signed, Merkle-logged records of every request; checkpoints and proofs for offline verification.' },
      { name: 'alerts', description: 'Webhooks for the records a tenant must hear about at once, signed and delivered as they commit (tenant owner).' },
    ],
  });
  document.paths = Object.fromEntries(Object.entries(document.paths ?? {}).map(([path, item]) => [publicPath(path), item]));
  declareResponseHeaders(document);
  binaryBodiesAsExtension(document);
  return document;
}

/**
 * A body that is JSON or bytes (binary contents, lib/page-frames.ts) is declared with both media types on its
 * route (so the runtime admits both) and `required: false` (or the JSON validator would refuse the bytes; the
 * handler refuses a missing body). The document says `required`, and lists the bytes under the operation's
 * `x-custodes-binary-body` rather than in `content`: generators given two request media types emit code that
 * does not compile (orval's fetch client), and the issue keeps JSON for generated clients. Answers keep both
 * media types in `content`, chosen by `Accept`.
 */
function binaryBodiesAsExtension(document: ReturnType<App['getOpenAPI31Document']>): void {
  for (const item of Object.values(document.paths ?? {}))
    for (const operation of Object.values(item ?? {}) as Record<string, unknown>[]) {
      const body = operation.requestBody as { required?: boolean; content?: Record<string, unknown> } | undefined;
      const bytes = body?.content?.['application/octet-stream'];
      if (!body || !bytes) continue;
      body.required = true;
      delete body.content!['application/octet-stream'];
      operation['x-custodes-binary-body'] = { contentType: 'application/octet-stream', ...bytes };
    }
}

/** Headers the platform sets on responses, whichever handler formed them. */
const RESPONSE_HEADERS = {
  'X-Request-Id': { description: "This request's id; quote it when reporting a problem. Every record of the request carries it.", schema: { type: 'string' } },
  'Custodes-Audit': {
    description:
      "Where this request's audit record is: `log=<log>; index=<n>` for a caller who may read that log, else `receipt=<sealed>` (open it at `…/audit/receipts/{receipt}`).",
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying (RFC 9110 §10.2.3).', schema: { type: 'integer' } },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.',
    schema: { type: 'string', enum: ['true'] },
  },
} satisfies Record<string, { description: string; schema: { type: 'string' | 'integer'; enum?: string[] } }>;

/**
 * Declares, on every response of every operation, the headers the platform
 * adds (request id; the audit header on /v1), and where they apply the
 * retry and idempotency headers, so generated clients can read them.
 */
function declareResponseHeaders(document: ReturnType<App['getOpenAPI31Document']>): void {
  document.components = {
    ...document.components,
    headers: Object.fromEntries(Object.entries(RESPONSE_HEADERS).map(([name, header]) => [name.replace(/-/g, ''), header])),
  };
  const ref = (name: keyof typeof RESPONSE_HEADERS) => ({ $ref: `#/components/headers/${name.replace(/-/g, '')}` });
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {}) as {
      parameters?: { in: string; name: string }[];
      responses?: Record<string, { headers?: Record<string, unknown> }>;
    }[]) {
      const keyed = operation.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if ('$ref' in response) continue;
        response.headers = {
          ...response.headers,
          'X-Request-Id': ref('X-Request-Id'),
          ...(path.startsWith('/v1/') ? { 'Custodes-Audit': ref('Custodes-Audit') } : {}),
          ...(status === '429' || status === '409' ? { 'Retry-After': ref('Retry-After') } : {}),
          ...(keyed && status.startsWith('2') ? { 'Idempotent-Replayed': ref('Idempotent-Replayed') } : {}),
        };
      }
    }
  }
}
