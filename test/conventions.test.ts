/** API conventions every route shares: pagination, idempotency, entity tags, body limits, problems. */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createDb } from '../src/platform/db/client';
import { answerOf, commitStatements } from '../src/platform/middleware/idempotency/idempotency.store';
import { call, createHost, createTenant, expectStatus, recordOf, unique } from './support/api';

describe('pagination', () => {
  it('walks more than two pages without gaps or repeats', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await createHost()).id);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const query = `pageSize=3${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`;
      const page = await expectStatus(call('GET', `/v1/admin/hosts?${query}`), 200);
      expect(page.hosts.length).toBeLessThanOrEqual(3);
      seen.push(...page.hosts.map((h: { id: string }) => h.id));
      token = page.nextPageToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(created); // oldest first, each exactly once
  });

  it('omits nextPageToken on an exact last page', async () => {
    for (let i = 0; i < 2; i++) await createHost();
    const page = await expectStatus(call('GET', '/v1/admin/hosts?pageSize=2'), 200);
    expect(page.hosts).toHaveLength(2);
    expect(page.nextPageToken).toBeUndefined();
  });

  it('rejects foreign and forged page tokens and bad sizes', async () => {
    for (let i = 0; i < 2; i++) await createHost();
    const page = await expectStatus(call('GET', '/v1/admin/hosts?pageSize=1'), 200);
    const foreign = await expectStatus(call('GET', `/v1/admin/tenants?pageToken=${page.nextPageToken}`), 400);
    expect(foreign.code).toBe('invalid_page_token');
    expect((await expectStatus(call('GET', '/v1/admin/hosts?pageToken=%25%25%25'), 400)).code).toBe('invalid_page_token');
    const tooBig = await expectStatus(call('GET', '/v1/admin/hosts?pageSize=1000'), 400);
    expect(tooBig).toMatchObject({ code: 'invalid_request' });
    expect(tooBig.errors[0].path).toBe('query.pageSize');
  });

  it('binds VM list tokens to their filter', async () => {
    await createHost({ vcpus: 64, memoryMiB: 65536 });
    const { tenant } = await createTenant();
    for (let i = 0; i < 3; i++) {
      await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 1, memoryMiB: 512 } }), 201);
    }
    const first = await expectStatus(call('GET', `/v1/admin/vms?tenant=${tenant.id}&pageSize=2`), 200);
    expect(first.vms).toHaveLength(2);
    const second = await expectStatus(call('GET', `/v1/admin/vms?tenant=${tenant.id}&pageSize=2&pageToken=${first.nextPageToken}`), 200);
    expect(second.vms).toHaveLength(1);
    expect((await expectStatus(call('GET', `/v1/admin/vms?pageSize=2&pageToken=${first.nextPageToken}`), 400)).code).toBe('invalid_page_token');
  });
});

describe('Idempotency-Key', () => {
  const body = () => ({ name: unique('host'), vcpus: 8, memoryMiB: 8192, diskGiB: 100 });

  it('replays the stored response for the same key and body', async () => {
    const b = body();
    const first = await call('POST', '/v1/admin/hosts', { body: b, headers: { 'Idempotency-Key': 'k-1' } });
    expect(first.status).toBe(201);
    const created = await first.json<any>();
    const again = await call('POST', '/v1/admin/hosts', { body: b, headers: { 'Idempotency-Key': 'k-1' } });
    expect(again.status).toBe(201);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(again.headers.get('Location')).toBe(`/v1/admin/hosts/${created.id}`);
    expect(await again.json()).toEqual(created);
    const list = await expectStatus(call('GET', '/v1/admin/hosts'), 200);
    expect(list.hosts).toHaveLength(1); // executed once
    // The retry's record is of the replay it answered, not of the key's refusal its own batch met on the way.
    const { record } = await recordOf(again);
    expect(record).toMatchObject({ outcome: 'allowed', reason: null, status: 201 });
  });

  it('answers 422 when the key is reused with another body', async () => {
    await expectStatus(call('POST', '/v1/admin/hosts', { body: body(), headers: { 'Idempotency-Key': 'k-2' } }), 201);
    const reuse = await expectStatus(call('POST', '/v1/admin/hosts', { body: body(), headers: { 'Idempotency-Key': 'k-2' } }), 422);
    expect(reuse.code).toBe('idempotency_key_reused');
  });

  it('replays failures too, so a retry cannot change the outcome', async () => {
    const b = body();
    await expectStatus(call('POST', '/v1/admin/hosts', { body: b }), 201);
    const dup = { ...b, vcpus: 4 };
    const first = await expectStatus(call('POST', '/v1/admin/hosts', { body: dup, headers: { 'Idempotency-Key': 'k-3' } }), 409);
    const again = await call('POST', '/v1/admin/hosts', { body: dup, headers: { 'Idempotency-Key': 'k-3' } });
    expect(again.status).toBe(409);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect((await again.json<any>()).requestId).toBe(first.requestId);
  });

  it('scopes keys per principal', async () => {
    const { admin2 } = await import('./support/api');
    await expectStatus(call('POST', '/v1/admin/hosts', { body: body(), headers: { 'Idempotency-Key': 'shared' } }), 201);
    const other = await call('POST', '/v1/admin/hosts', { as: admin2, body: body(), headers: { 'Idempotency-Key': 'shared' } });
    expect(other.status).toBe(201);
    expect(other.headers.get('Idempotent-Replayed')).toBeNull();
  });

  it('marks the key committed by the request itself, in its audit batch', async () => {
    const created = await call('POST', '/v1/admin/hosts', { body: body(), headers: { 'Idempotency-Key': 'k-mark' } });
    const row = await env.DB.prepare("SELECT state, request_id FROM idempotency_records WHERE key = 'k-mark'").first<{ state: string; request_id: string }>();
    expect(row).toEqual({ state: 'complete', request_id: created.headers.get('X-Request-Id') });
  });

  it('a key is taken in the batch that commits: a live key refuses a second commit, an expired one is taken anew', async () => {
    const db = createDb(env.DB);
    const times = (now: number) => ({ now, ttlSeconds: 86_400, pendingSeconds: 60 });
    const run = (requestId: string, now: number) =>
      env.DB.batch(commitStatements('adm_x', 'k-taken', 'fp', requestId, times(now)).map(({ sql, params }) => env.DB.prepare(sql).bind(...params)));
    expect(await answerOf(db, 'adm_x', 'k-taken', 'fp', times(999))).toEqual({ kind: 'free' });
    await run('req_first', 1_000);
    // A retry (or a request racing the first) cannot commit under the key: its whole batch aborts.
    await expect(run('req_retry', 1_010)).rejects.toThrow(/idempotency claim lost/);
    // What the key then says: in flight while the first one's answer may still be stored, then lost; another body is a mismatch.
    expect(await answerOf(db, 'adm_x', 'k-taken', 'fp', times(1_020))).toEqual({ kind: 'in_progress' });
    expect(await answerOf(db, 'adm_x', 'k-taken', 'fp', times(1_100))).toEqual({ kind: 'response_lost', requestId: 'req_first' });
    expect(await answerOf(db, 'adm_x', 'k-taken', 'other', times(1_020))).toEqual({ kind: 'mismatch' });
    // Past its TTL the row no longer holds the key: the next commit takes it.
    expect(await answerOf(db, 'adm_x', 'k-taken', 'fp', times(87_400))).toEqual({ kind: 'free' });
    await run('req_later', 87_400);
    expect(await answerOf(db, 'adm_x', 'k-taken', 'fp', times(87_500))).toEqual({ kind: 'response_lost', requestId: 'req_later' });
  });

  it('a retry racing the original runs, but only one of them commits; the other gets the first answer or 409', async () => {
    const b = body();
    const [one, two] = await Promise.all([
      call('POST', '/v1/admin/hosts', { body: b, headers: { 'Idempotency-Key': 'k-race' } }),
      call('POST', '/v1/admin/hosts', { body: b, headers: { 'Idempotency-Key': 'k-race' } }),
    ]);
    expect([one.status, two.status].sort()).toSatisfy((s: number[]) => s[0] === 201 && (s[1] === 201 || s[1] === 409));
    const list = await expectStatus(call('GET', '/v1/admin/hosts'), 200);
    expect(list.hosts.filter((h: { name: string }) => h.name === b.name)).toHaveLength(1); // executed once
  });

  it('rejects an invalid key', async () => {
    const res = await expectStatus(call('POST', '/v1/admin/hosts', { body: body(), headers: { 'Idempotency-Key': 'x'.repeat(300) } }), 400);
    expect(res.code).toBe('invalid_idempotency_key');
  });
});

describe('ETag and If-Match', () => {
  it('applies a PATCH only at the expected revision', async () => {
    const created = await call('POST', '/v1/admin/hosts', { body: { name: unique('h'), vcpus: 8, memoryMiB: 8192, diskGiB: 10 } });
    const etag = created.headers.get('ETag')!;
    expect(etag).toBe('"1"');
    const { id } = await created.json<any>();
    const first = await call('PATCH', `/v1/admin/hosts/${id}`, { body: { vcpus: 16 }, headers: { 'If-Match': etag } });
    expect(first.status).toBe(200);
    expect(first.headers.get('ETag')).toBe('"2"');
    const stale = await expectStatus(call('PATCH', `/v1/admin/hosts/${id}`, { body: { vcpus: 4 }, headers: { 'If-Match': etag } }), 412);
    expect(stale).toMatchObject({ code: 'precondition_failed', currentRevision: 2 });
    expect((await expectStatus(call('GET', `/v1/admin/hosts/${id}`), 200)).vcpus).toBe(16);
    await expectStatus(call('PATCH', `/v1/admin/hosts/${id}`, { body: { vcpus: 4 }, headers: { 'If-Match': 'W/"2"' } }), 412);
    await expectStatus(call('DELETE', `/v1/admin/hosts/${id}`, { headers: { 'If-Match': etag } }), 412);
    await expectStatus(call('DELETE', `/v1/admin/hosts/${id}`, { headers: { 'If-Match': '"2"' } }), 204);
  });

  it('guards tenants and VMs the same way', async () => {
    await createHost({ vcpus: 64, memoryMiB: 65536 });
    const { tenant } = await createTenant();
    await expectStatus(call('PATCH', `/v1/admin/tenants/${tenant.id}`, { body: { name: unique('t') }, headers: { 'If-Match': '"7"' } }), 412);
    const vm = await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 1, memoryMiB: 512 } }), 201);
    await expectStatus(call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus: 2 }, headers: { 'If-Match': '"1"' } }), 200);
    await expectStatus(call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus: 3 }, headers: { 'If-Match': '"1"' } }), 412);
  });
});

describe('bad input is a 4xx problem, never a 500', () => {
  it('malformed JSON', async () => {
    const res = await call('POST', '/v1/admin/hosts', { rawBody: '{"name": "x", ' });
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect((await res.json<any>()).code).toBe('malformed_json');
  });

  it('unknown fields', async () => {
    const res = await expectStatus(call('POST', '/v1/admin/hosts', { body: { name: 'h1', vcpus: 1, memoryMiB: 1024, diskGiB: 1, colour: 'red' } }), 400);
    expect(res.code).toBe('invalid_request');
    expect(res.detail).toContain('colour');
  });

  it('invalid sizes', async () => {
    for (const bad of [{ vcpus: 0 }, { vcpus: -1 }, { vcpus: 1.5 }, { memoryMiB: 'lots' }, { diskGiB: 1e12 }]) {
      const res = await expectStatus(call('POST', '/v1/admin/hosts', { body: { name: 'h1', vcpus: 1, memoryMiB: 1024, diskGiB: 1, ...bad } }), 400);
      expect(res.code).toBe('invalid_request');
    }
  });

  it('a private key offered as a tenant owner key', async () => {
    const { newSigner } = await import('./support/api');
    const owner = await newSigner('x');
    const res = await expectStatus(
      call('POST', '/v1/admin/tenants', { body: { name: 't1', ownerKey: owner.privateJwk, quota: { vcpus: 1, memoryMiB: 1024, diskGiB: 1 } } }),
      400,
    );
    expect(res.detail).toContain('d');
  });

  it('bodies over the limit (413) and of the wrong type (415)', async () => {
    const big = await call('POST', '/v1/admin/hosts', { rawBody: JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 1) }) });
    expect(big.status).toBe(413);
    expect((await big.json<any>()).code).toBe('payload_too_large');
    const form = await call('POST', '/v1/admin/hosts', { rawBody: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect((await form.json<any>()).code).toBe('unsupported_media_type');
  });

  it('a missing body on a create', async () => {
    expect((await expectStatus(call('POST', '/v1/admin/hosts'), 400)).code).toBe('invalid_request');
  });

  it('duplicate names', async () => {
    await createHost({ name: 'dup' });
    expect((await expectStatus(call('POST', '/v1/admin/hosts', { body: { name: 'dup', vcpus: 1, memoryMiB: 1024, diskGiB: 1 } }), 409)).code).toBe(
      'name_taken',
    );
  });

  it('malformed ids and unknown resources', async () => {
    expect((await expectStatus(call('GET', '/v1/admin/hosts/not-an-id'), 400)).code).toBe('invalid_request');
    expect((await expectStatus(call('GET', '/v1/admin/hosts/hst_00000000000000000000000000'), 404)).code).toBe('not_found');
    expect((await expectStatus(call('POST', '/v1/admin/hosts/hst_00000000000000000000000000:explode'), 404)).code).toBe('route_not_found');
  });

  it('a barrage of hostile inputs on every admin route', async () => {
    const host = await createHost();
    const { tenant } = await createTenant();
    const paths = [
      ['POST', '/v1/admin/hosts'],
      ['PATCH', `/v1/admin/hosts/${host.id}`],
      ['POST', `/v1/admin/hosts/${host.id}:drain`],
      ['POST', '/v1/admin/tenants'],
      ['PATCH', `/v1/admin/tenants/${tenant.id}`],
      ['POST', `/v1/admin/tenants/${tenant.id}/vms`],
      ['PATCH', '/v1/admin/vms/vm_00000000000000000000000000'],
      ['POST', '/v1/admin/vms/vm_00000000000000000000000000:migrate'],
    ] as const;
    const bodies = ['', 'null', '[]', '"x"', '42', '{}', '{"name":null}', '{"__proto__":{"x":1}}', '{"quota":"all"}', '\u0000', '{"vcpus":1e400}'];
    for (const [method, path] of paths) {
      for (const rawBody of bodies) {
        const res = await call(method, path, { rawBody });
        expect(res.status, `${method} ${path} ${JSON.stringify(rawBody)}`).toBeGreaterThanOrEqual(200);
        expect(res.status, `${method} ${path} ${JSON.stringify(rawBody)}`).toBeLessThan(500);
        if (res.status >= 400) expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      }
    }
  });
});
