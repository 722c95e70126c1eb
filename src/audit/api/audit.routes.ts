/**
 * Audit log routes (docs/design.md §5, §8), the same shapes for a tenant's log
 * (`/tenants/{tenant}/audit/...`, the tenant's own principals) and for the
 * provider log (`/admin/audit/...`, auditors and security admins).
 */
import type { AuditedAction } from '../actions';
import { createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import { jsonContent, problemResponses } from '../../platform/http/responses';
import { wholeNumber } from '../../platform/http/params';
import { rateLimitByAddress } from '../../platform/middleware/rate-limit';
import { adminRoute, platformProblems, publicRoute, tenantRoute } from '../../http/route-factories';
import type { ProblemCode } from '../../lib/problems';
import { TenantParams } from '../../provider/tenants/tenants.schemas';

const tags = ['audit'];
const AUDITORS = ['auditor', 'security'] as const;

const Index = wholeNumber();

export const RecordsQuery = z.object({
  from: Index.default(0).openapi({ description: 'First record index.', default: 0 }),
  limit: wholeNumber({ min: 1, max: 1000 }).default(100).openapi({ description: 'Records per page, 1–1000.', default: 100 }),
});
export const InclusionQuery = z.object({ index: Index, size: wholeNumber({ min: 1 }) });
export const ConsistencyQuery = z.object({ from: Index, to: Index });
export const CosignedQuery = z.object({
  cosignatures: wholeNumber({ min: 1, max: 64 }).default(1).openapi({ description: 'The fewest witness cosignatures the checkpoint must carry.', default: 1 }),
});

const RecordPage = z
  .object({
    records: z.array(
      z.object({
        index: z.number().int(),
        jws: z.string().openapi({
          description: 'Compact JWS (EdDSA); its payload, RFC 8785 JSON, is the Merkle leaf and an `AuditRecord` (#/components/schemas/AuditRecord).',
          'x-custodes-payload': { $ref: '#/components/schemas/AuditRecord' },
        }),
      }),
    ),
    next: z.number().int().optional().openapi({ description: '`from` for the next page; absent at the current end of the log.' }),
  })
  .openapi('AuditRecordPage');
const InclusionProof = z
  .object({ index: z.number().int(), size: z.number().int(), proof: z.array(z.string()).openapi({ description: 'Hex SHA-256 hashes, RFC 9162 §2.1.3.' }) })
  .openapi('InclusionProof');
const ConsistencyProof = z
  .object({ from: z.number().int(), to: z.number().int(), proof: z.array(z.string()).openapi({ description: 'Hex SHA-256 hashes, RFC 9162 §2.1.4.' }) })
  .openapi('ConsistencyProof');
const ReceiptParam = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/)
  .max(256)
  .openapi({ param: { name: 'receipt', in: 'path' }, description: 'The `receipt=` value of a `Custodes-Audit` header.' });
const OpenedReceipt = z
  .object({
    log: z.string(),
    index: z.number().int().optional().openapi({ description: "The record's index, when it was recorded in full." }),
    jws: z.string().optional().openapi({ description: 'The record itself.' }),
    window: z
      .object({ from: z.string(), to: z.string() })
      .optional()
      .openapi({ description: 'For a refusal counted into a summary: the window whose `audit.refusals.summarize` record counts it.' }),
  })
  .openapi('OpenedReceipt');
const checkpointResponse = {
  description: 'C2SP tlog-checkpoint signed note (Ed25519); verify with the key at /v1/audit/log-key.',
  content: { 'text/plain': { schema: z.string() } },
};

function routesFor(kind: 'tenant' | 'provider') {
  const base = kind === 'tenant' ? '/tenants/{tenant}/audit' : '/admin/audit';
  const prefix = kind === 'tenant' ? 'Tenant' : 'Provider';
  const params = kind === 'tenant' ? { params: TenantParams } : {};
  // One definition, two audiences: the route objects are typed loosely (RouteConfig) and
  // the shared handlers read their validated query with its schema's type.
  // The records cover every VM, so a VM-limited toolstack may see checkpoints and proofs but not them.
  const guard = (
    config: Omit<RouteConfig, 'middleware' | 'security'> & { operationId: string; action: AuditedAction; problems?: readonly ProblemCode[] },
    reach?: 'tenant-wide',
  ): RouteConfig => (kind === 'tenant' ? tenantRoute({ ...config, scope: 'audit:read', reach }) : adminRoute({ ...config, roles: AUDITORS }));
  return {
    checkpoint: guard({
      operationId: `get${prefix}AuditCheckpoint`,
      action: 'audit.checkpoint.read',
      method: 'get',
      path: `${base}/checkpoint`,
      tags,
      summary: `Latest signed checkpoint of the ${kind} log`,
      request: { ...params },
      responses: { 200: checkpointResponse },
    }),
    cosigned: guard({
      operationId: `get${prefix}AuditCosignedCheckpoint`,
      action: 'audit.checkpoint.read',
      problems: ['not_cosigned'],
      method: 'get',
      path: `${base}/checkpoint/cosigned`,
      tags,
      summary: `The newest checkpoint of the ${kind} log that witnesses cosigned`,
      description:
        "The log's signed checkpoint with the cosignatures (C2SP tlog-cosignature) of the witnesses at /v1/audit/witnesses that checked it extends what they saw before. Witnesses cosign after the appends, so it may lag the latest checkpoint; asking starts a round first. 409 `not_cosigned` when no kept checkpoint has that many cosignatures.",
      request: { ...params, query: CosignedQuery },
      responses: {
        200: {
          description: "C2SP signed note: the log's signature, then the witnesses' (header `Custodes-Cosignatures` counts them).",
          content: { 'text/plain': { schema: z.string() } },
        },
      },
    }),
    records: guard(
      {
        operationId: `list${prefix}AuditRecords`,
        action: 'audit.records.read',
        method: 'get',
        path: `${base}/records`,
        tags,
        summary: `Signed records of the ${kind} log, in index order`,
        request: { ...params, query: RecordsQuery },
        responses: { 200: jsonContent(RecordPage, 'One page of records.') },
      },
      'tenant-wide',
    ),
    inclusion: guard({
      operationId: `get${prefix}AuditInclusionProof`,
      action: 'audit.proof.read',
      method: 'get',
      path: `${base}/proofs/inclusion`,
      tags,
      summary: 'Inclusion proof of one record in a tree size',
      request: { ...params, query: InclusionQuery },
      responses: { 200: jsonContent(InclusionProof, 'The proof.') },
    }),
    consistency: guard({
      operationId: `get${prefix}AuditConsistencyProof`,
      action: 'audit.proof.read',
      method: 'get',
      path: `${base}/proofs/consistency`,
      tags,
      summary: 'Consistency proof between two tree sizes',
      request: { ...params, query: ConsistencyQuery },
      responses: { 200: jsonContent(ConsistencyProof, 'The proof.') },
    }),
    receipt: guard(
      {
        operationId: `open${prefix}AuditReceipt`,
        action: 'audit.receipt.open',
        problems: ['not_found'],
        method: 'get',
        path: `${base}/receipts/{receipt}`,
        tags,
        summary: 'The record a receipt names',
        description:
          "A caller who may not read the log that holds its request's record gets `Custodes-Audit: receipt=…`, sealed so that it reveals neither the log nor its size. The log's reader opens it here: the record, or for a refusal counted into a summary, the window that summary covers.",
        request: { params: z.object({ ...(kind === 'tenant' ? TenantParams.shape : {}), receipt: ReceiptParam }) },
        responses: { 200: jsonContent(OpenedReceipt, 'Where the record is.') },
      },
      'tenant-wide',
    ),
  };
}

export const StreamQuery = z.object({
  from: Index.default(0).openapi({
    description: 'The first record to send; a `Last-Event-ID` header (the last record received) takes precedence.',
    default: 0,
  }),
  outcome: z.enum(['allowed', 'denied', 'failed']).optional().openapi({ description: 'Only records with this outcome.' }),
  actorType: z.enum(['admin', 'tenant', 'toolstack', 'anonymous', 'system']).optional().openapi({ description: 'Only records whose actor is of this type.' }),
  action: z
    .string()
    .regex(/^[a-z][a-z.]*\*?$/)
    .max(64)
    .optional()
    .openapi({ description: 'Only this action, or the actions starting with a prefix ending in `*` (`vm.memory.*`).' }),
});

export const tenantStream = tenantRoute({
  operationId: 'openTenantAuditStream',
  action: 'audit.stream.open',
  scope: 'audit:read',
  reach: 'tenant-wide',
  conceal: true,
  method: 'get',
  path: '/tenants/{tenant}/audit/stream',
  tags,
  summary: "The tenant's log, live (Server-Sent Events)",
  description:
    "Every record from `from` as it commits: `event: record` (`id` = its index, `data` = `{index, jws}`) and, after each commit, `event: checkpoint` (`data` = `{size, note}`, once the stream has sent every record the checkpoint covers). Resume with `Last-Event-ID`: no gap, no duplicate. Filters narrow the records sent (a filtered stream's checkpoints still cover every record). A toolstack without `audit:read` and another tenant's principal get the same 404 as for a tenant that does not exist.\n\n" +
    '**Budget.** At most 8 open streams per principal, 64 per log and 256 per server instance (429 `stream_limit_reached`, with `Retry-After` and the `limit` that refused). A reader that falls more than 128 KiB behind is ended; a stream ends with its token, and at once when its principal is revoked. The last event of an ended stream is `event: end` with `data` = `{reason, resumeFrom}` (`reason`: `lagging`, `token_expired`, `revoked` or `reset`): open a new stream from `resumeFrom` (a fresh token; after `revoked`, the principal may no longer read the log). A `: heartbeat` comment comes every 15 s.',
  problems: ['stream_limit_reached'],
  request: {
    params: TenantParams,
    query: StreamQuery,
    headers: z.object({
      'last-event-id': z
        .string()
        .regex(/^\d{1,15}$/)
        .optional()
        .openapi({ description: 'The index of the last record received.' }),
    }),
  },
  responses: { 200: { description: 'A stream of Server-Sent Events.', content: { 'text/event-stream': { schema: z.string() } } } },
});

export const tenantAudit = routesFor('tenant');
export const providerAudit = routesFor('provider');

export const logKey = publicRoute({
  operationId: 'getAuditLogKey',
  action: 'audit.key.read',
  method: 'get',
  path: '/audit/log-key',
  tags,
  summary: 'The checkpoint verifier key (C2SP vkey)',
  responses: { 200: { description: '`<name>+<key id>+<base64 key>`', content: { 'text/plain': { schema: z.string() } } } },
});

export const witnesses = publicRoute({
  operationId: 'listAuditWitnesses',
  action: 'audit.witnesses.read',
  method: 'get',
  path: '/audit/witnesses',
  tags,
  summary: "The witnesses that cosign this provider's checkpoints",
  description:
    "Where they are and their cosigner keys (C2SP vkeys, type 0x04). Pin a witness's key from the witness itself, not from here: the provider chooses this list.",
  responses: {
    200: jsonContent(
      z.object({ witnesses: z.array(z.object({ name: z.string(), vkey: z.string(), url: z.string() })) }).openapi('WitnessList'),
      'The configured witnesses (none by default).',
    ),
  },
});

const KeyHandoverSchema = z
  .object({
    from: z.string().openapi({ description: 'The kid of the key that hands over (it signed first).' }),
    to: z.string().openapi({ description: 'The kid of its successor.' }),
    state: z
      .enum(['approved', 'active', 'retired'])
      .openapi({ description: '`approved`: signed by the predecessor only; the successor countersigns when it first signs a record.' }),
    note: z.string().openapi({
      description:
        'The hand-over checkpoint: a C2SP checkpoint of the provider log holding the approval, with the lines `custodes-audit-handover <successor vkey>` and `change <id> <approval index>`, signed by both keys.',
    }),
    change: z.string(),
    approval: z.object({
      index: z.number().int(),
      size: z.number().int(),
      jws: z.string().openapi({ description: 'The `change.approve` record of the rotation, signed by the predecessor.' }),
      proof: z.array(z.string()).openapi({ description: "Its inclusion proof in the hand-over's tree (hex, RFC 9162 §2.1.3)." }),
    }),
  })
  .openapi('KeyHandover');

export const keyHandovers = publicRoute({
  operationId: 'listAuditKeyHandovers',
  action: 'audit.key.handovers.read',
  method: 'get',
  path: '/audit/key-handovers',
  tags,
  summary: 'Audit key hand-overs, oldest first: how a verifier pinned to an older key reaches the current one',
  responses: { 200: jsonContent(z.object({ handovers: z.array(KeyHandoverSchema) }).openapi('KeyHandoverList'), 'Every hand-over signed so far.') },
});

const DeploymentSchema = z
  .object({
    index: z.number().int().openapi({ description: "The statement's record in the provider log." }),
    jws: z.string().openapi({ description: 'The `deployment.statement` record as signed; `details` is the statement.' }),
    statement: z
      .object({
        version: z.string(),
        build: z
          .string()
          .nullable()
          .openapi({ description: '`sha256:` + hex of the Worker bundle, as the deployment declares it (`npm run build:worker` prints it).' }),
        config: z.string().openapi({ description: '`sha256:` + hex of the canonical JSON of the rest: what a verifier compares.' }),
        auditKey: z.string(),
        bootstrapAdmins: z.array(z.object({ id: z.string(), kid: z.string() })),
        bindings: z.array(z.string()),
        vars: z.record(z.string(), z.string()),
      })
      .openapi({ description: "The record's `details`, for reading; verify the JWS, not this." }),
  })
  .openapi('DeploymentStatement');

export const deployments = publicRoute({
  operationId: 'listDeploymentStatements',
  action: 'audit.deployments.read',
  method: 'get',
  path: '/audit/deployments',
  tags,
  summary: 'Every deployment on record, oldest first: the build and configuration that signed the logs',
  description:
    'Each is a `deployment.statement` record of the provider log, written by the first request a deployment served whose build or configuration differed from the last one recorded (a redeploy, a swapped bootstrap admin key, a changed var). `custodes audit verify` reports the changes since its saved state, and `--expect-build` refuses a log served by another build. A modified Worker can lie about its own build: witnesses and evidence the tenant holds are what catch that.',
  responses: { 200: jsonContent(z.object({ deployments: z.array(DeploymentSchema) }).openapi('DeploymentStatementList'), 'Every statement so far.') },
});

export const JsonWebKeySetSchema = z
  .object({
    keys: z.array(
      z
        .object({
          kty: z.string(),
          crv: z.string().optional(),
          x: z.string().optional(),
          kid: z.string().optional(),
          status: z.enum(['active', 'retired']).optional().openapi({ description: 'Whether the key signs new records or only old ones.' }),
        })
        .catchall(z.unknown()),
    ),
  })
  .openapi('JsonWebKeySet', { description: 'RFC 7517 JWK Set.' });

/** The record-signing keys, current and retired: outside /v1, unauthenticated and unaudited, cacheable; limited per client address like every public route. */
export const recordSigningKeys = createRoute({
  operationId: 'getRecordSigningKeys',
  method: 'get',
  path: '/.well-known/jwks.json',
  tags,
  summary: 'Record-signing keys, current and retired (RFC 7517 JWKS)',
  description:
    'Verifies the JWS of each audit record (`kid` in its header). No token needed; limited per client address; not audited; cacheable for 5 minutes.',
  security: [],
  middleware: [rateLimitByAddress()] as const,
  responses: { 200: jsonContent(JsonWebKeySetSchema, 'The keys.'), ...problemResponses(platformProblems('unaudited', { method: 'get' })) },
});
