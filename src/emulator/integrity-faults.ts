/**
 * Integrity faults (issue 30): the emulator behaving, on purpose, as a
 * dishonest provider would — so a tenant's own test suite can prove that its
 * integration notices. Each rewrites an answer the honest handler formed,
 * exactly as a provider editing its store or its responses could:
 *
 *  - `stale-content`: pages and blocks served with their previous version's
 *    envelope under the current version number (authentic ciphertext, old
 *    content). Caught by the SDK's read: `ProviderMisbehaviourError`.
 *  - `withhold-content`: written pages served as unwritten. Caught by the
 *    SDK's read: the read's own record names them.
 *  - `rewrite-record`: the newest record of a records page altered (its
 *    outcome flipped), signature kept. Caught by `audit verify`.
 *  - `drop-newest-record`: each log served as if its newest record when the
 *    rule was set (and everything after it) never was: records without them,
 *    and a checkpoint freshly signed over what is left — a consistent, older
 *    log, hiding the newest write. Caught by `mem read --verify-fresh` (the
 *    page served is newer than the verified log's latest write), and by
 *    `audit verify` against any state saved after that record (the log shrank).
 *
 *  - `split-view`: the readers matching the rule see a fork: each log's
 *    newest record when the rule was set, altered and signed again by the
 *    audit key (as the key's holder could), under checkpoints signed over the
 *    forked tree. Self-consistent to a first-time reader; caught by `audit
 *    verify` with a state saved before the fork (the consistency proof is the
 *    real tree's) and by a witness quorum (no witness cosigned the fork).
 *  - `swap-bootstrap-key`: a bootstrap admin's key replaced under the
 *    running instance. Caught by the deployment check: the next request puts
 *    a new `deployment.statement` on the record, which `audit verify` names.
 *
 * Nothing here runs unless emulator mode is on and a rule of the kind fires.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { signCheckpoint } from '../audit/format/checkpoint';
import { FrontierBuilder, leafHash } from '../audit/format/merkle';
import { auditSigningKey } from '../audit/signing/signing-key';
import { PROVIDER_LOG } from '../audit/log/logs';
import { jwsPayload, jwsPayloadBytes } from '../audit/format/jws';
import { signRecord, type AuditRecord } from '../audit/format/record';
import { base64urlOf, utf8 } from '../lib/bytes';
import { decodeReadFrame, encodeReadFrame, PAGES_MEDIA_TYPE } from '../lib/page-frames';

export const INTEGRITY_FAULTS = ['stale-content', 'withhold-content', 'rewrite-record', 'drop-newest-record', 'split-view'] as const;
export type IntegrityFault = (typeof INTEGRITY_FAULTS)[number];

type StoredPage = { index: number; version: number; digest: string; envelope: string };

const CONTENT_READ = /^\/v1\/tenants\/[^/]+\/(?:vms\/([^/]+)\/memory\/pages|disks\/([^/]+)\/blocks)(?:\/\d+\/versions\/\d+)?$/;
const RECORDS = /^\/v1\/(?:tenants\/([^/]+)|admin)\/audit\/records$/;
const CHECKPOINT = /^\/v1\/(?:tenants\/([^/]+)|admin)\/audit\/checkpoint(?:\/cosigned)?$/;

/** The log a records or checkpoint path reads. */
const logOfPath = (match: RegExpExecArray): string => (match[1] ? `tenants/${match[1]}` : PROVIDER_LOG);

const rewrap = (response: Response, body: string | Uint8Array<ArrayBuffer>, contentType?: string): Response => {
  const headers = new Headers(response.headers);
  headers.delete('Content-Length');
  headers.delete('ETag');
  if (contentType) headers.set('Content-Type', contentType);
  return new Response(body, { status: response.status, headers });
};

/** A `drop-newest-record` rule as set: each log's size then, less its newest record. */
export async function hideNewest(c: Context<AppEnv>): Promise<Record<string, number>> {
  const { results } = await c.env.DB.prepare('SELECT log, size FROM audit_logs WHERE size > 0').all<{ log: string; size: number }>();
  return Object.fromEntries(results.map((r) => [r.log, r.size - 1]));
}

/** The answer `response` to this request, as the fault would have it (the honest one when the fault does not apply here). */
export async function lie(
  c: Context<AppEnv>,
  rule: { kind: IntegrityFault; hidden?: Record<string, number>; forkAt?: Record<string, number> },
  response: Response,
): Promise<Response> {
  const fault = rule.kind;
  if (!response.ok) return response;
  const path = new URL(c.req.url).pathname;
  const content = CONTENT_READ.exec(path);
  if (content && (fault === 'stale-content' || fault === 'withhold-content')) {
    const [space, resource] = content[1] ? ['memory', content[1]] : ['disk', content[2]!];
    /** The envelope of the version before `version`, if there is one (authentic ciphertext, old). */
    const olderEnvelope = async (index: number, version: number): Promise<Buffer | null> => {
      const previous = await c.env.DB.prepare(
        'SELECT hex(envelope) AS envelope FROM content_versions WHERE space = ? AND resource_id = ? AND idx = ? AND version < ? ORDER BY version DESC LIMIT 1',
      )
        .bind(space, resource, index, version)
        .first<{ envelope: string }>();
      return previous ? Buffer.from(previous.envelope, 'hex') : null;
    };
    // The same lie in either form the reader asked for (lib/page-frames.ts).
    if (response.headers.get('Content-Type')?.startsWith(PAGES_MEDIA_TYPE)) {
      const frame = decodeReadFrame(new Uint8Array(await response.clone().arrayBuffer()));
      if (!frame.ok) return response;
      const { pages, evidence } = frame.value;
      if (fault === 'withhold-content') return rewrap(response, encodeReadFrame([], evidence));
      const stale = await Promise.all(pages.map(async (p) => ({ ...p, envelope: (await olderEnvelope(p.index, p.version)) ?? p.envelope })));
      return rewrap(response, encodeReadFrame(stale, evidence));
    }
    const body = (await response.clone().json()) as { pages?: StoredPage[] } & Partial<StoredPage>;
    if (fault === 'withhold-content') return rewrap(response, JSON.stringify({ ...body, pages: [] }), 'application/json');
    const older = async (page: StoredPage): Promise<StoredPage> => {
      const previous = await olderEnvelope(page.index, page.version);
      return previous ? { ...page, envelope: previous.toString('base64') } : page;
    };
    if (body.pages) return rewrap(response, JSON.stringify({ ...body, pages: await Promise.all(body.pages.map(older)) }), 'application/json');
    return rewrap(response, JSON.stringify(await older(body as StoredPage)), 'application/json');
  }
  if (fault === 'split-view') return splitView(c, rule.forkAt ?? {}, path, response);
  const records = RECORDS.exec(path);
  if (records && (fault === 'rewrite-record' || fault === 'drop-newest-record')) {
    const body = (await response.clone().json()) as { records: { index: number; jws: string }[]; next?: number };
    if (fault === 'drop-newest-record') {
      const kept = rule.hidden?.[logOfPath(records)];
      if (kept === undefined) return response;
      return rewrap(response, JSON.stringify({ records: body.records.filter((r) => r.index < kept) }), 'application/json');
    }
    const last = body.records.at(-1);
    if (!last) return response;
    const [header, , signature] = last.jws.split('.') as [string, string, string];
    const record = jwsPayload<{ outcome: string }>(last.jws);
    record.outcome = record.outcome === 'allowed' ? 'denied' : 'allowed';
    const altered = `${header}.${base64urlOf(utf8(JSON.stringify(record)))}.${signature}`;
    return rewrap(response, JSON.stringify({ ...body, records: [...body.records.slice(0, -1), { ...last, jws: altered }] }), 'application/json');
  }
  const checkpoint = CHECKPOINT.exec(path);
  if (checkpoint && fault === 'drop-newest-record') {
    const log = logOfPath(checkpoint);
    const kept = rule.hidden?.[log];
    if (kept === undefined) return response;
    const { results } = await c.env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? AND idx < ? ORDER BY idx').bind(log, kept).all<{ jws: string }>();
    // The tree of the records kept, signed by the audit key as if it were the head.
    const tree = new FrontierBuilder();
    for (const { jws } of results) tree.push(leafHash(jwsPayloadBytes(jws)));
    const note = await signCheckpoint(log, tree.size, tree.root(), await auditSigningKey(c.env.AUDIT_SIGNING_JWK));
    return rewrap(response, note, 'text/plain; charset=utf-8');
  }
  return response;
}

/** A fresh Ed25519 public key, for a `swap-bootstrap-key` rule as it is set. */
export async function swappedKey(): Promise<{ kty: 'OKP'; crv: 'Ed25519'; x: string }> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { x } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as { x: string };
  return { kty: 'OKP', crv: 'Ed25519', x };
}

/** The bootstrap JWKS with the swapped admin's key in place (the env's own when no swap rule is in force). */
export function bootstrapWithSwap(jwks: string | undefined, rules: readonly { kind: string; admin?: number; key?: object }[]): string | undefined {
  const swap = rules.find((r) => r.kind === 'swap-bootstrap-key' && r.key);
  if (!jwks || !swap) return jwks;
  const parsed = JSON.parse(jwks) as { keys?: object[] };
  const keys = [...(parsed.keys ?? [parsed])];
  keys[(swap.admin ?? 2) - 1] = swap.key!;
  return JSON.stringify({ keys });
}

/** The forked record of `log` at `index`: its outcome flipped, signed again by the audit key. */
async function forkedRecord(c: Context<AppEnv>, jws: string): Promise<string> {
  const record = jwsPayload<AuditRecord>(jws);
  return (await signRecord({ ...record, outcome: record.outcome === 'allowed' ? 'denied' : 'allowed' }, await auditSigningKey(c.env.AUDIT_SIGNING_JWK))).jws;
}

async function splitView(c: Context<AppEnv>, forkAt: Record<string, number>, path: string, response: Response): Promise<Response> {
  const records = RECORDS.exec(path);
  const checkpoint = CHECKPOINT.exec(path);
  const log = records ? logOfPath(records) : checkpoint ? logOfPath(checkpoint) : null;
  const at = log === null ? undefined : forkAt[log];
  if (log === null || at === undefined) return response;
  if (records) {
    const body = (await response.clone().json()) as { records: { index: number; jws: string }[]; next?: number };
    const served = await Promise.all(body.records.map(async (r) => (r.index === at ? { ...r, jws: await forkedRecord(c, r.jws) } : r)));
    return rewrap(response, JSON.stringify({ ...body, records: served }), 'application/json');
  }
  const size = Number((await response.clone().text()).split('\n')[1]);
  if (!(size > at)) return response;
  const { results } = await c.env.DB.prepare('SELECT idx, jws FROM audit_records WHERE log = ? AND idx < ? ORDER BY idx')
    .bind(log, size)
    .all<{ idx: number; jws: string }>();
  const tree = new FrontierBuilder();
  for (const { idx, jws } of results) tree.push(leafHash(jwsPayloadBytes(idx === at ? await forkedRecord(c, jws) : jws)));
  // Signed by the audit key alone: no witness has seen this tree.
  return rewrap(response, await signCheckpoint(log, tree.size, tree.root(), await auditSigningKey(c.env.AUDIT_SIGNING_JWK)), 'text/plain; charset=utf-8');
}
