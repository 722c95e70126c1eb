import type { Context } from 'hono';
import type { z } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { PROVIDER_LOG, refusalPolicy, tenantLog } from '../log/logs';
import { listRecords, logHead, proveConsistency, proveInclusion, signingKeys } from '../log/reader';
import { auditSigningKey } from '../signing/signing-key';
import { publishedHandovers } from '../signing/key-handover';
import { openReceipt } from '../log/receipts';
import { finishNotices } from '../log/notices';
import { failureResponse, problemResponse } from '../../platform/http/problem';
import { NOT_YOURS } from '../../lib/problems';
import type { ConsistencyQuery, CosignedQuery, InclusionQuery, JsonWebKeySetSchema, RecordsQuery, StreamQuery } from './audit.routes';
import { configuredWitnesses, cosignedCheckpoint } from '../witnessing/witnesses';
import { auditLogOf } from '../log/append';
import { deploymentStatements } from '../deployment/on-record';
import { clockOffsetMs } from '../../platform/clock';
import { revealDueSeals } from '../../governance/access-requests/seals';

type AuditContext = Context<AppEnv>;

/** Tenant routes name their log in the path; the rest read the provider log. */
const logOf = (c: AuditContext): string => {
  const tenant = c.req.param('tenant');
  return tenant ? tenantLog(tenant) : PROVIDER_LOG;
};

/**
 * The log, once any notice a crash left undelivered to it is in it
 * (audit/log/notices.ts), and any seal past its date is revealed in it
 * (governance/access-requests/seals.ts): no reader sees it without them.
 */
async function readyLog(c: AuditContext): Promise<string> {
  const log = logOf(c);
  await finishNotices(c.env, log);
  const tenant = c.req.param('tenant');
  if (tenant) await revealDueSeals(c.env, tenant);
  return log;
}

// The tenant and provider variants share these handlers, so the validated
// query is read with its schema's type rather than the route's.
const query = <S extends z.ZodType>(c: AuditContext) => c.req.valid('query' as never) as z.output<S>;

export async function getCheckpoint(c: AuditContext) {
  const head = await logHead(c.env, await readyLog(c));
  return c.text(head.checkpoint, 200);
}

export async function getCosignedCheckpoint(c: AuditContext) {
  const { cosignatures } = query<typeof CosignedQuery>(c);
  const log = await readyLog(c);
  const witnesses = configuredWitnesses(c.env);
  // A reader may be the first to ask since a witness came back: one round first (bounded by the witnesses' timeout).
  if (witnesses.length > 0)
    await auditLogOf(c.env, log)
      .cosign(log)
      .catch(() => null);
  const found = await cosignedCheckpoint(c.env, log, cosignatures);
  if (!found) {
    return problemResponse(
      c,
      'not_cosigned',
      `No kept checkpoint of this log carries ${cosignatures} cosignature(s); ${witnesses.length} witness(es) are configured (GET /v1/audit/witnesses).`,
    );
  }
  return c.text(found.note, 200, { 'Custodes-Cosignatures': String(found.cosignatures) });
}

export const listWitnesses = async (c: AuditContext) =>
  c.json({ witnesses: configuredWitnesses(c.env).map((w) => ({ name: w.key.name, vkey: w.vkey, url: w.url })) }, 200);

/** A live stream of the tenant's log, served by its sequencer (audit/stream/fan-out.ts). */
export async function streamAuditLog(c: AuditContext) {
  const { from, outcome, actorType, action } = query<typeof StreamQuery>(c);
  const lastEventId = c.req.header('last-event-id');
  const log = await readyLog(c);
  const { id: principal, kid, expiresAt } = c.get('principal');
  // The token's expiry on this runtime's clock (the emulator's may run ahead of it).
  const authority = { principal, kid, expiresAt: expiresAt * 1000 - clockOffsetMs() };
  // The response is ours; the sequencer writes each event into it through the sink (audit/stream/sink.ts).
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  // Loaded here, not at the top: it needs the Workers runtime, and the spec generator imports this module in Node.
  const { ResponseSink } = await import('../stream/sink');
  const sink = new ResponseSink(writable);
  const following = auditLogOf(c.env, log).follow(log, lastEventId ? Number(lastEventId) + 1 : from, { outcome, actorType, action }, authority, sink);
  const admitted = await Promise.race([sink.admitted.then(() => ({ ok: true }) as const), following]);
  if (!admitted.ok) {
    const detail = `This ${admitted.limit === 'isolate' ? 'server instance' : admitted.limit} has ${admitted.max} live streams open already; close one, or retry later.`;
    return problemResponse(c, 'stream_limit_reached', detail, { limit: admitted.limit, max: admitted.max }, { 'Retry-After': '5' });
  }
  // The call stays pending while the stream lives (audit/stream/sink.ts); a stream cut by the client ends it too.
  const settled = following.then(
    () => undefined,
    () => undefined,
  );
  try {
    c.executionCtx.waitUntil(settled);
  } catch {
    // No execution context (the app called directly, as the workerd test suite does): the promise alone.
  }
  // no-transform: no proxy may buffer or compress the events.
  return new Response(readable, {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store, no-transform', 'X-Accel-Buffering': 'no' },
  });
}

export async function listAuditRecords(c: AuditContext) {
  const { from, limit } = query<typeof RecordsQuery>(c);
  return c.json(await listRecords(c.env, await readyLog(c), from, limit), 200);
}

export async function getInclusionProof(c: AuditContext) {
  const { index, size } = query<typeof InclusionQuery>(c);
  const result = await proveInclusion(c.env, await readyLog(c), index, size);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
}

export async function getConsistencyProof(c: AuditContext) {
  const { from, to } = query<typeof ConsistencyQuery>(c);
  const result = await proveConsistency(c.env, await readyLog(c), from, to);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
}

/** Opens a receipt of this log (audit/log/receipts.ts); a receipt of another log is as unknown as a made-up one. */
export async function openAuditReceipt(c: AuditContext) {
  const log = logOf(c);
  const opened = await openReceipt(c.env.AUDIT_SIGNING_JWK!, c.req.param('receipt')!);
  if (!opened || opened.log !== log) return problemResponse(c, 'not_found', NOT_YOURS);
  if ('window' in opened) {
    const { windowMs } = refusalPolicy(c.env);
    return c.json({ log, window: { from: new Date(opened.window).toISOString(), to: new Date(opened.window + windowMs).toISOString() } }, 200);
  }
  const { records } = await listRecords(c.env, log, opened.index, 1);
  return c.json({ log, index: opened.index, jws: records[0]!.jws }, 200);
}

export const listKeyHandovers = async (c: AuditContext) => c.json({ handovers: await publishedHandovers(c.env) }, 200);

export async function getLogKey(c: AuditContext) {
  return c.text((await auditSigningKey(c.env.AUDIT_SIGNING_JWK)).vkey, 200);
}

export const getRecordSigningKeys = async (c: AuditContext) =>
  c.json((await signingKeys(c.env)) as z.infer<typeof JsonWebKeySetSchema>, 200, { 'Cache-Control': 'public, max-age=300' });

export const listDeployments = async (c: AuditContext) => c.json({ deployments: await deploymentStatements(c.env) }, 200);
