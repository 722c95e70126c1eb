/**
 * Test client: drives the real app (the same factory the Worker exports) with
 * the miniflare env, and mints a fresh principal token for every request, as
 * the CLI does.
 */
import { env } from 'cloudflare:test';
import { ENROLLED_ADMIN_IDS } from './enrolled-admins';
import { SignJWT, exportJWK, generateKeyPair, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { createApp } from '../../src/app';
import { openReceipt } from '../../src/audit/log/receipts';
import { expectDeclaredProblem } from './declared-problems';

export const app = createApp();

export interface Signer {
  id: string;
  privateJwk: JWK;
  publicJwk: JWK;
  kid: string;
}

export async function signerFromPrivateJwk(id: string, privateJwk: JWK): Promise<Signer> {
  const { d: _d, ...publicJwk } = privateJwk;
  return { id, privateJwk, publicJwk, kid: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

export async function newSigner(id: string, alg: 'EdDSA' | 'ES256' = 'EdDSA'): Promise<Signer> {
  const { privateKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined, extractable: true });
  return signerFromPrivateJwk(id, await exportJWK(privateKey));
}

const bootstrapJwks = JSON.parse(env.TEST_BOOTSTRAP_PRIVATE_JWKS) as JWK[];
const enrolledJwks = JSON.parse(env.TEST_ADMIN_PRIVATE_JWKS) as JWK[];
/** The two enrolled admins every test starts with (every role): what the suite signs admin requests with. */
export const admin = await signerFromPrivateJwk(ENROLLED_ADMIN_IDS[0], enrolledJwks[0]!);
export const admin2 = await signerFromPrivateJwk(ENROLLED_ADMIN_IDS[1], enrolledJwks[1]!);
/** The bootstrap keys (env): retired in every test that does not reopen the ceremony. */
export const bootstrap = await signerFromPrivateJwk('adm_bootstrap', bootstrapJwks[0]!);
export const bootstrap2 = await signerFromPrivateJwk('adm_bootstrap2', bootstrapJwks[1]!);

export interface TokenOptions {
  alg?: string;
  kid?: string;
  claims?: Record<string, unknown>;
  lifetime?: number;
  iatOffset?: number;
}

export async function mintToken(signer: Signer, options: TokenOptions = {}): Promise<string> {
  const { alg = signer.privateJwk.kty === 'EC' ? 'ES256' : 'EdDSA', kid = signer.kid, claims = {}, lifetime = 300, iatOffset = 0 } = options;
  const iat = Math.floor(Date.now() / 1000) + iatOffset;
  const key = await importJWK(signer.privateJwk, alg);
  const payload = { iss: signer.id, sub: signer.id, aud: 'custodes', iat, exp: iat + lifetime, jti: crypto.randomUUID(), scope: '' };
  return new SignJWT({ ...payload, ...claims }).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
}

export interface CallOptions {
  as?: Signer | null;
  token?: string;
  body?: unknown;
  /** A body sent as is: text, or bytes (binary contents) with the Content-Type the test gives. */
  rawBody?: string | Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
  /** Bindings and vars on top of the test environment's (e.g. `CUSTODES_SERVER_TIMING: 'on'`). */
  env?: Record<string, unknown>;
}

let addresses = 0;

export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const { as = admin, token, body, rawBody, headers = {}, env: extraEnv } = options;
  // Each call comes from an address of its own unless the test names one (`CF-Connecting-IP`), so the
  // per-address rate limit counts only what a test means it to.
  const init: RequestInit = { method, headers: { 'CF-Connecting-IP': `198.51.100.${++addresses % 250}`, ...headers } };
  const h = init.headers as Record<string, string>;
  const bearer = token ?? (as ? await mintToken(as) : undefined);
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  if (body !== undefined || rawBody !== undefined) {
    init.body = rawBody ?? JSON.stringify(body);
    h['Content-Type'] ??= 'application/json';
  }
  const response = await app.request(path, init, extraEnv ? { ...env, ...extraEnv } : env);
  await expectDeclaredProblem(method, path, response);
  return response;
}

/** Calls and parses JSON, failing the test with the problem document on an unexpected status. */
export async function expectStatus<T = any>(response: Promise<Response> | Response, status: number): Promise<T> {
  const res = await response;
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

let counter = 0;
/** A name unique within the test run (tests share one database). */
export const unique = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export const createHost = (spec: { vcpus?: number; memoryMiB?: number; diskGiB?: number; name?: string } = {}) =>
  expectStatus(call('POST', '/v1/admin/hosts', { body: { name: unique('host'), vcpus: 32, memoryMiB: 65536, diskGiB: 1000, ...spec } }), 201);

export async function createTenant(quota: { vcpus?: number; memoryMiB?: number; diskGiB?: number } = {}) {
  const owner = await newSigner('pending');
  const tenant = await expectStatus(
    call('POST', '/v1/admin/tenants', {
      body: { name: unique('tenant'), ownerKey: owner.publicJwk, quota: { vcpus: 64, memoryMiB: 131072, diskGiB: 1000, ...quota } },
    }),
    201,
  );
  return { tenant, owner: { ...owner, id: tenant.id as string } };
}

/** The audit API as the offline verifier sees it, read as `as`. */
export function auditSource(log: string, as: Signer) {
  const base = log === 'provider' ? '/v1/admin/audit' : `/v1/${log}/audit`;
  const text = async (path: string, signer: Signer | null = as) => {
    const res = await call('GET', path, { as: signer });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.text();
  };
  return {
    logKey: () => text('/v1/audit/log-key', null),
    jwks: async () => JSON.parse(await text('/.well-known/jwks.json', null)),
    checkpoint: () => text(`${base}/checkpoint`),
    records: async (from: number, limit: number) => JSON.parse(await text(`${base}/records?from=${from}&limit=${limit}`)),
    consistency: async (from: number, to: number) => JSON.parse(await text(`${base}/proofs/consistency?from=${from}&to=${to}`)),
  };
}

/** Where a response's record is: its Custodes-Audit header, or the receipt in it opened with the server's key. */
export async function placeOf(res: Response): Promise<{ log: string; index: number } | { log: string; window: number }> {
  const header = res.headers.get('Custodes-Audit') ?? '';
  const named = /^log=(\S+); index=(\d+)$/.exec(header);
  if (named) return { log: named[1]!, index: Number(named[2]) };
  const receipt = /^receipt=([A-Za-z0-9_-]+)$/.exec(header);
  const opened = receipt ? await openReceipt(env.AUDIT_SIGNING_JWK, receipt[1]!) : null;
  if (!opened) throw new Error(`no Custodes-Audit header on ${res.status} response`);
  return opened;
}

/** The record a response's Custodes-Audit header names (or seals in a receipt), decoded (unverified) from D1. */
export async function recordOf(res: Response): Promise<{ log: string; index: number; record: any }> {
  const place = await placeOf(res);
  if (!('index' in place)) throw new Error(`the request was counted into a refusal summary of ${place.log}, not recorded in full`);
  const { log, index } = place;
  const row = await env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? AND idx = ?').bind(log, Number(index)).first<string>('jws');
  if (!row) throw new Error(`record ${log}#${index} is not in D1`);
  return { log: log!, index: Number(index), record: JSON.parse(Buffer.from(row.split('.')[1]!, 'base64url').toString('utf8')) };
}

/**
 * A significant admin operation (202, a pending change request) approved by a
 * second admin (docs/design.md §7): answers the approval `{change, result}`.
 */
export async function approved(proposal: Response | Promise<Response>, as: Signer = admin2) {
  const change = await expectStatus(proposal, 202);
  return expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as }), 200);
}

const decodeRecord = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'));

/** The record of the request `res` answered, as found in `log` (a refusal is recorded in the owner's log and in the caller's own). */
export async function recordIn(log: string, res: Response): Promise<{ log: string; index: number; record: any }> {
  const requestId = res.headers.get('X-Request-Id');
  const { results } = await env.DB.prepare('SELECT idx, jws FROM audit_records WHERE log = ? ORDER BY idx DESC LIMIT 500')
    .bind(log)
    .all<{ idx: number; jws: string }>();
  for (const row of results) {
    const record = decodeRecord(row.jws);
    if (record.requestId === requestId) return { log, index: row.idx, record };
  }
  throw new Error(`request ${requestId} has no record in ${log}`);
}

/** Closes `log`'s refusal window and answers how many refusals its summary records count in all. */
export async function summarizedIn(log: string): Promise<number> {
  await env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(log)).flushRefusals();
  const { results } = await env.DB.prepare("SELECT jws FROM audit_records WHERE log = ? AND action = 'audit.refusals.summarize'")
    .bind(log)
    .all<{ jws: string }>();
  return results.reduce((sum, row) => sum + (decodeRecord(row.jws).details.counted as number), 0);
}

/** An admin with `roles`, registered through the two-person rule (admin proposes, admin2 approves). */
export async function registeredAdmin(roles: string[]): Promise<Signer> {
  const signer = await newSigner('pending');
  const { change } = await approved(call('POST', '/v1/admin/admins', { body: { name: unique('adm'), publicKey: signer.publicJwk, roles } }));
  return { ...signer, id: change.target.id };
}

/** A host with room, a tenant, and one small VM of it. */
export async function tenantWithVm() {
  await createHost({ vcpus: 16, memoryMiB: 16384 });
  const { tenant, owner } = await createTenant();
  const vm = await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 1, memoryMiB: 128 } }), 201);
  return { tenant, owner, vm };
}
