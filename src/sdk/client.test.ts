/**
 * The SDK client's call discipline, against a scripted fetch: a fresh token
 * per attempt naming one session, one Idempotency-Key per call reused by
 * every retry, retries only where they cannot act twice, and problems raised
 * as CustodesApiError.
 */
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { createApiClient } from './client';
import { CustodesApiError } from './errors';

const key = await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey);
const problem = (status: number, code: string) =>
  new Response(JSON.stringify({ type: `urn:custodes:problem:${code}`, title: code, status, detail: code, code, requestId: 'req_1' }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });
const host = {
  id: 'hst_1',
  name: 'h',
  vcpus: 1,
  memoryMiB: 1,
  diskGiB: 1,
  state: 'active',
  allocated: { vcpus: 0, memoryMiB: 0, vms: 0 },
  revision: 1,
  createdAt: '',
  updatedAt: '',
};

/** A client whose fetch answers from `script` in turn and remembers each request. */
function scripted(script: (() => Response)[], retry = { retries: 2, baseDelayMs: 1 }, baseUrl?: string) {
  const seen: Request[] = [];
  const api = createApiClient({
    ...(baseUrl ? { baseUrl } : {}),
    key,
    principal: 'adm_x',
    retry,
    fetch: async (input) => {
      seen.push(input as Request);
      const next = script.shift();
      if (!next) throw new Error('script exhausted');
      return next();
    },
  });
  return { api, seen };
}

const body = { name: 'h', vcpus: 1, memoryMiB: 1, diskGiB: 1 };

describe('SDK client', () => {
  it('retries a POST with the same Idempotency-Key, a fresh token each attempt, one session', async () => {
    const { api, seen } = scripted(
      [
        () => problem(503, 'audit_unavailable'),
        () => {
          throw new TypeError('fetch failed');
        },
        () => problem(409, 'idempotency_key_in_use'), // the lost attempt is still running
        () => Response.json(host, { status: 201 }),
      ],
      { retries: 3, baseDelayMs: 1 },
    );
    const { data } = await api.POST('/v1/admin/hosts', { body });
    expect(data?.id).toBe('hst_1');
    expect(seen).toHaveLength(4);
    const keys = seen.map((r) => r.headers.get('Idempotency-Key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    const claims = seen.map((r) => decodeJwt(r.headers.get('Authorization')!.slice('Bearer '.length)));
    expect(new Set(claims.map((c) => c.jti)).size).toBe(4);
    expect(new Set(claims.map((c) => c.sid))).toEqual(new Set([api.session]));
    expect(await Promise.all(seen.map((r) => r.text()))).toEqual(Array(4).fill(JSON.stringify(body)));
  });

  it('retries a page write as it is, without a key: a repeat puts the same envelopes back', async () => {
    const pages = { pages: [{ index: 0, envelope: 'AQ==' }] };
    const written = { pages: [{ index: 0, version: 1, digest: 'sha256:00' }], auditIndex: 3 };
    const { api, seen } = scripted([() => problem(503, 'audit_unavailable'), () => Response.json(written)]);
    const { data } = await api.PUT('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant: 'ten_1', vm: 'vm_1' } }, body: pages });
    expect(data?.auditIndex).toBe(3);
    expect(seen).toHaveLength(2);
    expect(seen.map((r) => r.headers.get('Idempotency-Key'))).toEqual([null, null]);
    expect(await Promise.all(seen.map((r) => r.text()))).toEqual(Array(2).fill(JSON.stringify(pages)));
    // A caller's own key is still sent, and kept across the retries.
    const keyed = scripted([() => problem(503, 'audit_unavailable'), () => Response.json(written)]);
    await keyed.api.PUT('/v1/tenants/{tenant}/disks/{disk}/blocks', {
      params: { path: { tenant: 'ten_1', disk: 'dsk_1' } },
      body: pages,
      headers: { 'Idempotency-Key': 'mine-2' },
    });
    expect(keyed.seen.map((r) => r.headers.get('Idempotency-Key'))).toEqual(['mine-2', 'mine-2']);
  });

  it("keeps a caller's Idempotency-Key, and mints a new one per call otherwise", async () => {
    const { api, seen } = scripted([
      () => Response.json(host, { status: 201 }),
      () => Response.json(host, { status: 201 }),
      () => Response.json(host, { status: 201 }),
    ]);
    await api.POST('/v1/admin/hosts', { body, headers: { 'Idempotency-Key': 'mine-1' } });
    await api.POST('/v1/admin/hosts', { body });
    await api.POST('/v1/admin/hosts', { body });
    const keys = seen.map((r) => r.headers.get('Idempotency-Key'));
    expect(keys[0]).toBe('mine-1');
    expect(keys[1]).not.toBe(keys[2]);
  });

  it('asks a server on this machine for uncompressed answers, and leaves the encoding to fetch elsewhere or when the caller names one', async () => {
    const answers = () => Array.from({ length: 2 }, () => () => Response.json(host));
    const encodings: (string | null)[] = [];
    for (const baseUrl of ['http://127.0.0.1:8787', 'http://localhost:9', 'http://[::1]:8787', 'https://custodes.example.com', 'http://127.example.com']) {
      const { api, seen } = scripted(answers(), undefined, baseUrl);
      await api.GET('/v1/admin/hosts/{host}', { params: { path: { host: 'hst_1' } } });
      await api.GET('/v1/admin/hosts/{host}', { params: { path: { host: 'hst_1' } }, headers: { 'Accept-Encoding': 'gzip' } });
      encodings.push(...seen.map((r) => r.headers.get('Accept-Encoding')));
    }
    expect(encodings).toEqual(['identity', 'gzip', 'identity', 'gzip', 'identity', 'gzip', null, 'gzip', null, 'gzip']);
  });

  it('does not retry another conflict', async () => {
    const { api, seen } = scripted([() => problem(409, 'name_taken'), () => Response.json(host, { status: 201 })]);
    const error = (await api.POST('/v1/admin/hosts', { body }).catch((e: unknown) => e)) as CustodesApiError;
    expect(error.problem.code).toBe('name_taken');
    expect(seen).toHaveLength(1);
  });

  it('does not retry what could act twice (a PATCH), and raises the problem', async () => {
    const { api, seen } = scripted([() => problem(503, 'audit_unavailable'), () => Response.json(host)]);
    const error = await api.PATCH('/v1/admin/hosts/{host}', { params: { path: { host: 'hst_1' } }, body: { name: 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustodesApiError);
    expect((error as CustodesApiError).problem.code).toBe('audit_unavailable');
    expect(seen).toHaveLength(1);
  });

  it('gives up after its retries, and describes an answer that is not a problem as http_error', async () => {
    const { api, seen } = scripted([() => new Response('bad gateway', { status: 502 }), () => new Response('bad gateway', { status: 502 })], {
      retries: 1,
      baseDelayMs: 1,
    });
    const error = (await api.GET('/v1/admin/hosts').catch((e: unknown) => e)) as CustodesApiError;
    expect(seen).toHaveLength(2);
    expect(error.problem).toMatchObject({ code: 'http_error', status: 502, detail: 'bad gateway' });
  });
});
