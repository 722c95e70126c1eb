/**
 * Flooding and malformed bodies (issue 11 findings 4 and 5): an outsider
 * cannot grow a tenant's log without bound and is slowed down with 429; a
 * route that takes no body refuses one, and every body is size-checked before
 * it is parsed.
 */
import { env, runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app, call, createTenant, expectStatus, summarizedIn } from '../support/api';
import { tenantWithVm } from '../support/tenant';

const SAMPLE = Number(env.AUDIT_REFUSAL_SAMPLE ?? 16);

const logSize = async (log: string) => (await env.DB.prepare('SELECT size FROM audit_logs WHERE log = ?').bind(log).first<number>('size')) ?? 0;

describe('an outsider knocking on a tenant', () => {
  it('grows its log by at most sample + 1 records per window and is answered 429 (finding 4)', { timeout: 120_000 }, async () => {
    const { tenant, vm } = await tenantWithVm();
    const log = `tenants/${tenant.id}`;
    const before = await logSize(log);
    const statuses = new Map<number, number>();
    const paths = [`/v1/tenants/${tenant.id}/vms`, `/v1/admin/vms/${vm.id}`, `/v1/tenants/${tenant.id}/audit/records`];
    for (let i = 0; i < 1000; i++) {
      const res = await call('GET', paths[i % paths.length]!, { as: null, headers: { 'CF-Connecting-IP': '203.0.113.7' } });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 429) {
        expect(res.headers.get('Retry-After')).toMatch(/^\d+$/);
        expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      }
      // No answer tells the outsider whose VM it is or how long the log is.
      expect(res.headers.get('Custodes-Audit')).toMatch(/^receipt=/);
    }
    expect(statuses.get(429) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
    const counted = await summarizedIn(log);
    const grown = (await logSize(log)) - before;
    // A window boundary may fall inside the run: two windows at most, each its sample plus one summary.
    expect(grown).toBeLessThanOrEqual(2 * (SAMPLE + 1));
    // Nothing is lost: every knock is in the log, in full or counted.
    const { results } = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_records WHERE log = ? AND actor_id IS NULL AND outcome = 'denied' AND action != 'audit.refusals.summarize'",
    )
      .bind(log)
      .all<{ n: number }>();
    expect(results[0]!.n + counted).toBe(1000);
  });

  it('keeps one summary per window: a stale alarm does not cut the open window short, and concurrent flushes summarize once', async () => {
    const { tenant } = await createTenant();
    const log = `tenants/${tenant.id}`;
    const stub = env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(log));
    const knock = () => call('GET', `/v1/tenants/${tenant.id}/vms`, { as: null, headers: { 'CF-Connecting-IP': '203.0.113.9' } });
    const before = await logSize(log);
    for (let i = 0; i < SAMPLE + 3; i++) await knock();
    expect(await logSize(log)).toBe(before + SAMPLE); // the rest are counted, not yet summarized
    // An alarm that fires while the window is still open (one set for an earlier window) leaves it alone.
    await runDurableObjectAlarm(stub);
    await knock();
    expect(await logSize(log)).toBe(before + SAMPLE);
    // Two flushes at once (the alarm and the next window's first refusal, at a boundary) write one summary.
    const [a, b] = await Promise.all([stub.flushRefusals(), stub.flushRefusals()]);
    expect([a.summarized, b.summarized].sort()).toEqual([0, 4]);
    expect(await logSize(log)).toBe(before + SAMPLE + 1);
  });

  it("counts its principal's requests too: another tenant's owner is rate limited by its id", async () => {
    // The limit per principal is high (wrangler.toml); here we check only that it is keyed and answered as a problem.
    const { owner } = await createTenant();
    const res = await call('GET', `/v1/tenants/${owner.id}/vms`, { as: owner });
    expect(res.status).toBe(200);
  });
});

describe('bodies (finding 5)', () => {
  it('refuses a body on routes that take none, whatever its size or syntax, and changes nothing', async () => {
    const { tenant, owner } = await createTenant();
    const big = 'x'.repeat(10 * 1024 * 1024);
    const refusals = [
      await call('DELETE', `/v1/admin/tenants/${tenant.id}`, { rawBody: big }),
      await call('DELETE', `/v1/admin/tenants/${tenant.id}`, { rawBody: '{not json' }),
      await call('DELETE', `/v1/tenants/${tenant.id}/toolstacks/tsk_00000000000000000000000000`, { as: owner, rawBody: '{}' }),
    ];
    for (const res of refusals) {
      expect(res.status).toBe(400);
      expect(res.headers.get('Content-Type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ code: 'body_not_allowed' });
    }
    // No change request was filed for the tenant.
    const changes = await expectStatus(call('GET', '/v1/admin/changes?pageSize=100'), 200);
    expect(changes.changes.filter((ch: { target: { id: string } }) => ch.target.id === tenant.id)).toEqual([]);
    const host = await expectStatus(
      call('POST', '/v1/admin/hosts', { body: { name: `h-${crypto.randomUUID().slice(0, 8)}`, vcpus: 1, memoryMiB: 1024, diskGiB: 1 } }),
      201,
    );
    const drain = await call('POST', `/v1/admin/hosts/${host.id}:drain`, { rawBody: big });
    expect(drain.status).toBe(400);
  });

  it('stops reading a body past its limit even without a Content-Length', async () => {
    let sent = 0;
    const chunk = new TextEncoder().encode(`"${'a'.repeat(64 * 1024)}",`);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ > 200) return controller.close(); // 13 MiB if read to the end
        controller.enqueue(chunk);
      },
    });
    const { mintToken, admin } = await import('../support/api');
    const res = await app.request(
      '/v1/admin/hosts',
      {
        method: 'POST',
        body: stream,
        duplex: 'half',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await mintToken(admin)}` },
      } as RequestInit,
      env,
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'payload_too_large', maxBytes: 1024 * 1024 });
    expect(sent).toBeLessThan(40);
  });

  it('bounds a binary page frame without a Content-Length the same way, and takes a whole one sent in chunks', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const { mintToken } = await import('../support/api');
    const { encodeWriteFrame } = await import('../../src/lib/page-frames');
    const { fakeEnvelope } = await import('../support/tenant');
    const envelope = Uint8Array.from(Buffer.from(fakeEnvelope(), 'base64'));
    const chunked = (chunks: Uint8Array[], count: { sent: number }) =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks[count.sent++];
          if (next) controller.enqueue(next);
          else controller.close();
        },
      });
    const put = async (body: ReadableStream<Uint8Array>) =>
      app.request(
        `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`,
        {
          method: 'PUT',
          body,
          duplex: 'half',
          headers: { 'Content-Type': 'application/octet-stream', Authorization: `Bearer ${await mintToken(owner)}` },
        } as RequestInit,
        env,
      );
    const frame = encodeWriteFrame([0, 1, 2].map((index) => ({ index, envelope })));
    const whole = { sent: 0 };
    const accepted = await put(chunked([frame.subarray(0, 5000), frame.subarray(5000, 9000), frame.subarray(9000)], whole));
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { pages: unknown[] }).pages).toHaveLength(3);
    const endless = { sent: 0 };
    const huge = Array.from({ length: 1000 }, () => new Uint8Array(64 * 1024)); // 62.5 MiB if read to the end
    const refused = await put(chunked(huge, endless));
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ code: 'payload_too_large', maxBytes: 2 * 1024 * 1024 });
    expect(endless.sent).toBeLessThan(60);
  });

  it('answers an overlong path with a 414 problem, recorded with a bounded path', async () => {
    const res = await call('GET', `/v1/tenants/${'t'.repeat(5000)}/vms`, { as: null });
    expect(res.status).toBe(414);
    expect(await res.json()).toMatchObject({ code: 'uri_too_long' });
  });
});

describe('client addresses (issue 29, finding 6)', () => {
  it('keeps CF-Connecting-IP in actor.ip only when it is an IP address', async () => {
    const { tenant } = await createTenant();
    const log = `tenants/${tenant.id}`;
    const ipOfLast = async () => {
      const row = await env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? ORDER BY idx DESC LIMIT 1').bind(log).first<{ jws: string }>();
      return (JSON.parse(Buffer.from(row!.jws.split('.')[1]!, 'base64url').toString()) as { actor: { ip: string | null } }).actor.ip;
    };
    await call('GET', `/v1/tenants/${tenant.id}/vms`, { as: null, headers: { 'CF-Connecting-IP': '"><script>alert(1)</script>' } });
    expect(await ipOfLast()).toBeNull();
    await call('GET', `/v1/tenants/${tenant.id}/vms`, { as: null, headers: { 'CF-Connecting-IP': '2001:db8::7' } });
    expect(await ipOfLast()).toBe('2001:db8::7');
  });
});
