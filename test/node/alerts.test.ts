/**
 * Alerts (issue 19): a tenant's webhook receives a signed delivery for a
 * read of a labelled region, verifies it offline against the published keys,
 * gets it again after answering the first attempt with an error, and drops a
 * redelivery of the same record index. Webhook addresses outside the
 * emulator's allowance are refused.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildWorker } from '../../scripts/build-worker';
import { AlertInbox, CustodesApiError, GuestContents, newKeystore } from '../../src/sdk/index';
import { startCustodes, type Custodes } from '../../src/testing/index';
import { webhookUrlVerdict } from '../../src/audit/alerts/webhook-policy';
import { main, type Io } from '../../src/cli/main';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let emu: Custodes;
before(async () => {
  await buildWorker();
  emu = await startCustodes();
});
after(() => emu?.close());

describe('alerts', () => {
  it('delivers a signed alert for a labelled read, retries after a failed attempt, and a redelivery is dropped by index', async () => {
    const { tenant, vm, owner, toolstack } = await emu.provisionTenant();
    const received: { body: string; at: number; status: number }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const status = received.length === 0 ? 503 : 200; // the first attempt fails
        received.push({ body, at: performance.now(), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const rule = (await owner.api.POST('/v1/tenants/{tenant}/alerts', { params: { path: { tenant } }, body: { kind: 'labelled_read', url } })).data!;
      assert.equal(rule.kind, 'labelled_read');
      assert.deepEqual(
        (await owner.api.GET('/v1/tenants/{tenant}/alerts', { params: { path: { tenant } } })).data!.alerts.map((a) => a.id),
        [rule.id],
      );

      const target = { tenant, space: 'memory' as const, resource: vm };
      const keystore = await newKeystore();
      await new GuestContents(owner.api, keystore).write(target, 0, new Uint8Array(3 * 4096).fill(5));
      await owner.api.PUT('/v1/tenants/{tenant}/labels/{name}', {
        params: { path: { tenant, name: 'root-ca' } },
        body: { space: 'memory', vm, start: 1, count: 1 },
      });
      await new GuestContents(toolstack.api, keystore).read(target, 2 * 4096, 4096); // not labelled: no alert
      await new GuestContents(toolstack.api, keystore).read(target, 0, 2 * 4096); // reads page 1: alert
      const readAt = performance.now();

      for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(received.length, 2, 'one failed attempt, then one retry');
      assert.deepEqual(
        received.map((r) => r.status),
        [503, 200],
      );
      assert.ok(received[0]!.at - readAt < 1000, 'the first attempt comes at once');
      assert.ok(received[1]!.at - received[0]!.at >= 900, 'the retry waits its backoff');

      // The receiver, offline: both signatures against the published keys; the record is the toolstack's read of page 1.
      const jwks = (await owner.api.GET('/.well-known/jwks.json')).data!;
      const inbox = new AlertInbox(jwks as never);
      const first = inbox.accept(received[1]!.body);
      assert.equal(first.fresh, true);
      assert.equal(first.delivery.rule, rule.id);
      assert.equal(first.delivery.attempt, 2);
      assert.equal(first.record.action, 'vm.memory.read');
      assert.equal(first.record.actor.id, toolstack.id);
      assert.ok(first.record.regions?.some((r) => r.index === 1 && r.access === 'read'));
      assert.equal(inbox.accept(received[0]!.body).fresh, false, 'the failed attempt is the same delivery (same index)');
      assert.equal(inbox.accept(received[1]!.body).fresh, false, 'a redelivery is dropped');
      // A forged or altered delivery is refused.
      const [h, p, s] = received[1]!.body.split('.') as [string, string, string];
      const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), index: 0 })).toString('base64url');
      assert.throws(() => inbox.accept(`${h}.${altered}.${s}`), /not signed/);
      // Only one delivery: the unlabelled read matched nothing.
      assert.equal(new Set(received.map((r) => inbox.accept(r.body).delivery.id)).size, 1);

      // The emulator's recorder shows both attempts it made.
      const recorded = (await emu.recorder.entries()) as { method: string; url: string; status: number }[];
      assert.deepEqual(
        recorded.filter((e) => e.url === url).map((e) => [e.method, e.status]),
        [
          ['POST', 503],
          ['POST', 200],
        ],
      );

      await owner.api.DELETE('/v1/tenants/{tenant}/alerts/{alert}', { params: { path: { tenant, alert: rule.id } } });
      assert.deepEqual((await owner.api.GET('/v1/tenants/{tenant}/alerts', { params: { path: { tenant } } })).data!.alerts, []);
    } finally {
      server.close();
    }
  });

  it('custodes alerts create, list and delete manage the rules', async () => {
    const { tenant, owner } = await emu.provisionTenant();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'custodes-alerts-')), 'owner.jwk');
    writeFileSync(keyFile, JSON.stringify(owner.key));
    const cli = async (...argv: string[]) => {
      let out = '';
      const io: Io = { out: (t) => (out += typeof t === 'string' ? t : ''), err: (t) => (out += t) };
      const code = await main([...argv, '--tenant', tenant, '--key', keyFile, '--url', emu.url, '--json'], io);
      return { code, out };
    };
    const created = await cli('alerts', 'create', '--kind', 'admin_attempt', '--webhook', 'http://127.0.0.1:9/hook');
    assert.equal(created.code, 0, created.out);
    const { id } = JSON.parse(created.out) as { id: string };
    assert.deepEqual(
      (JSON.parse((await cli('alerts', 'list')).out) as { alerts: { id: string; kind: string }[] }).alerts.map((a) => [a.id, a.kind]),
      [[id, 'admin_attempt']],
    );
    const refused = await cli('alerts', 'create', '--kind', 'labelled_read', '--webhook', 'https://hooks.example.com/x');
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /invalid_request|emulator delivers only/);
    assert.equal((await cli('alerts', 'delete', id)).code, 0);
    assert.deepEqual((JSON.parse((await cli('alerts', 'list')).out) as { alerts: unknown[] }).alerts, []);
  });

  it('refuses webhook addresses the emulator does not allow, and a deployment posts to public https hosts only', async () => {
    const { tenant, owner } = await emu.provisionTenant();
    await assert.rejects(
      owner.api.POST('/v1/tenants/{tenant}/alerts', { params: { path: { tenant } }, body: { kind: 'admin_attempt', url: 'https://hooks.example.com/x' } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'invalid_request' && /emulator delivers only/.test(String(e.problem.detail)),
    );
    assert.equal(webhookUrlVerdict('https://hooks.example.com/x', { emulator: false }).ok, true);
    for (const url of [
      'http://hooks.example.com/x',
      'https://10.0.0.8/x',
      'https://169.254.169.254/latest',
      'https://localhost/x',
      'https://user:pw@hooks.example.com/',
      'https://intranet/x',
    ]) {
      assert.equal(webhookUrlVerdict(url, { emulator: false }).ok, false, url);
    }
  });
});
