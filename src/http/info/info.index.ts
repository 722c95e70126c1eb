/**
 * `GET /v1/info`: what this server is and the rules it enforces — version,
 * mode (a deployment, or the emulator with its clock and faults), the
 * checkpoint verifier key to pin, the effective configuration (the build it
 * declares; in emulator mode also where it listens, where its state lives
 * and its bindings' names), and the limits in force — so a client or a
 * test can check its assumptions instead of hard-coding them.
 */
import { z } from '@hono/zod-openapi';
import { auditSigningKey } from '../../audit/signing/signing-key';
import { refusalPolicy } from '../../audit/log/logs';
import { emulatorEnabled } from '../../platform/emulator-mode';
import { recorderCapacity } from '../../emulator/recorder';
import { clockOffsetMs, nowIso } from '../../platform/clock';
import { streamLimits } from '../../audit/stream/fan-out';
import { DELIVERIES_PER_MINUTE } from '../../audit/alerts/deliveries';
import { API_VERSION } from '../health/health.index';
import { CLAIM_ID, MAX_PATH_CHARS, MAX_SCOPE_CHARS, MAX_TOKEN_CHARS, MAX_TOKEN_VMS } from '../../platform/http/limits';
import { jsonContent } from '../../platform/http/responses';
import { publicRoute } from '../route-factories';
import { createRouter } from '../../platform/http/router';
import { DEFAULT_MAX_BODY_BYTES } from '../../platform/middleware/json-body';
import { RATE_LIMITS } from '../../platform/middleware/rate-limit';
import { CONTENT_BODY_BYTES } from '../../tenant/contents/contents.schemas';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../auth/token';

const InfoSchema = z
  .object({
    version: z.string(),
    mode: z.enum(['service', 'emulator']).openapi({ description: '`emulator` under `npm start` or `startCustodes`: the /_emulator controls are on.' }),
    time: z.string().openapi({ description: "The server's clock (emulated in emulator mode once moved)." }),
    emulator: z
      .object({
        clock: z.object({ emulated: z.boolean(), offsetMs: z.number().int() }),
        faults: z.number().int().openapi({ description: 'Fault rules in force.' }),
        activeFaults: z
          .array(z.object({ kind: z.string(), route: z.string() }))
          .openapi({ description: 'Each fault rule in force: its kind and the requests it matches.' }),
        recorder: z.object({ capacity: z.number().int() }),
        pendingNotices: z.number().int().openapi({
          description:
            'Notices committed with their record but not yet in their other log (a crash between the two; src/audit/log/notices.ts). The next read of that log, or the cron sweep, delivers them.',
        }),
      })
      .nullable(),
    auditLogKey: z.string().openapi({ description: 'The checkpoint verifier key (C2SP vkey), as `GET /v1/audit/log-key` serves it.' }),
    configuration: z
      .object({
        buildDigest: z.string().nullable().openapi({
          description:
            '`sha256:` of the Worker bundle this server says it runs (`custodes audit verify --expect-build`); null when the deployment declares none.',
        }),
        origin: z.string().nullable().openapi({ description: 'Emulator mode: where this instance listens (its port included). Null in a deployment.' }),
        statePath: z
          .string()
          .nullable()
          .openapi({ description: 'Emulator mode: the directory its D1 and logs persist in; null when in memory, and in a deployment.' }),
        bindings: z
          .object({ d1: z.array(z.string()), durableObjects: z.array(z.string()), rateLimits: z.array(z.string()), vars: z.array(z.string()) })
          .nullable()
          .openapi({ description: 'Emulator mode: the names of its bindings — never a value. Null in a deployment.' }),
      })
      .openapi({ description: 'The effective configuration: what a user would otherwise have to guess from how the instance was started.' }),
    limits: z.object({
      tokenChars: z.number().int(),
      tokenLifetimeSeconds: z.number().int(),
      claimIdPattern: z.string(),
      scopeChars: z.number().int(),
      tokenVms: z.number().int(),
      pathChars: z.number().int(),
      bodyBytes: z.number().int(),
      contentBodyBytes: z.number().int(),
      streams: z
        .object({
          perPrincipal: z.number().int(),
          perLog: z.number().int(),
          perIsolate: z.number().int(),
          queueBytes: z.number().int(),
          heartbeatMs: z.number().int(),
        })
        .openapi({
          description:
            'Live audit streams: open at most per principal, per log and per server instance; unread bytes before a reader is ended as lagging; between heartbeats.',
        }),
      webhookDeliveriesPerMinute: z
        .number()
        .int()
        .openapi({ description: "Alert deliveries a tenant's rules may make per minute; more wait for the next minute." }),
      rateLimits: z.object({
        perPrincipal: z.object({ limit: z.number().int(), periodSeconds: z.number().int() }),
        perAddress: z.object({ limit: z.number().int(), periodSeconds: z.number().int() }),
      }),
      refusals: z.object({ recordedInFullPerWindow: z.number().int(), windowSeconds: z.number().int() }),
    }),
  })
  .openapi('ServerInfo');

const info = publicRoute({
  operationId: 'getServerInfo',
  action: 'info.read',
  method: 'get',
  path: '/info',
  tags: ['health'],
  summary: 'Version, mode, the log key to pin, and the limits in force',
  responses: { 200: jsonContent(InfoSchema, 'About this server.') },
});

/** The names of the bindings, by kind, told apart by what each value can do (a value is never shown). */
function bindingNames(env: object) {
  const names = { d1: [] as string[], durableObjects: [] as string[], rateLimits: [] as string[], vars: [] as string[] };
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') names.vars.push(name);
    else if (value && typeof (value as D1Database).prepare === 'function') names.d1.push(name);
    else if (value && typeof (value as DurableObjectNamespace).idFromName === 'function') names.durableObjects.push(name);
    else if (value && typeof (value as { limit?: unknown }).limit === 'function') names.rateLimits.push(name);
  }
  for (const list of Object.values(names)) list.sort();
  return names;
}

export const infoRouter = createRouter().openapi(info, async (c) => {
  const emulator = emulatorEnabled(c.env);
  const state = c.get('emulator');
  const refusals = refusalPolicy(c.env);
  return c.json(
    {
      version: API_VERSION,
      mode: emulator ? ('emulator' as const) : ('service' as const),
      time: nowIso(),
      emulator: emulator
        ? {
            clock: { emulated: clockOffsetMs() !== 0, offsetMs: clockOffsetMs() },
            faults: state?.faults.length ?? 0,
            activeFaults: (state?.faults ?? []).map(({ kind, route }) => ({ kind, route })),
            recorder: { capacity: recorderCapacity() },
            pendingNotices: (await c.env.DB.prepare('SELECT count(*) AS n FROM audit_notice_outbox').first<{ n: number }>())!.n,
          }
        : null,
      auditLogKey: (await auditSigningKey(c.env.AUDIT_SIGNING_JWK)).vkey,
      configuration: {
        buildDigest: c.env.CUSTODES_BUILD_DIGEST ?? null,
        origin: emulator ? (c.env.CUSTODES_ORIGIN ?? null) : null,
        statePath: emulator ? c.env.CUSTODES_STATE_PATH || null : null,
        bindings: emulator ? bindingNames(c.env) : null,
      },
      limits: {
        tokenChars: MAX_TOKEN_CHARS,
        tokenLifetimeSeconds: MAX_TOKEN_LIFETIME_SECONDS,
        claimIdPattern: CLAIM_ID.source,
        scopeChars: MAX_SCOPE_CHARS,
        tokenVms: MAX_TOKEN_VMS,
        pathChars: MAX_PATH_CHARS,
        bodyBytes: DEFAULT_MAX_BODY_BYTES,
        contentBodyBytes: CONTENT_BODY_BYTES,
        rateLimits: RATE_LIMITS,
        refusals: { recordedInFullPerWindow: refusals.sample, windowSeconds: Math.round(refusals.windowMs / 1000) },
        streams: streamLimits(c.env),
        webhookDeliveriesPerMinute: DELIVERIES_PER_MINUTE,
      },
    },
    200,
  );
});
