/**
 * Checks on the checkers (issue 32) as a tenant's own tools see them: a sealed
 * access is a sealed record at once; when the emulator's clock passes its
 * date, the next read reveals it and `custodes audit verify` matches it to its
 * commitment. A provider that swaps the hidden record, or suppresses the
 * reveal (editing its own store), fails the same verify. Break-glass, with one
 * admin refused and two allowed, expires on time and alerts the tenant at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli';
import { findD1 } from './support/store';
import { buildWorker } from '../../scripts/build-worker';
// @ts-expect-error plain JavaScript, no declarations
import { buildConsole } from '../../scripts/build-console.js';
import { click, launchBrowser, offlinePage, signInConsole, waitForTextOrShow } from './support/browser';
import { CustodesApiError, openAlertDelivery } from '../../src/sdk/index';
import { startCustodes, type Custodes, type ProvisionedTenant } from '../../src/testing/index';

const dir = mkdtempSync(join(tmpdir(), 'custodes-governance-'));
const persist = join(dir, 'state');
let emu: Custodes;
let t: ProvisionedTenant;
const DAY = 86_400;
const start = () => startCustodes({ persist, keepControls: true, assets: 'public' });

before(async () => {
  await buildWorker();
  await buildConsole();
  emu = await start();
  t = await emu.provisionTenant();
  writeFileSync(join(dir, 'owner.jwk'), JSON.stringify(t.owner.key));
});
after(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

const verify = () =>
  runCli(emu.url, ['audit', 'verify', '--tenant', t.tenant, '--key', join(dir, 'owner.jwk'), '--trust-on-first-use', '--state', join(dir, 'state.json')]);

/** A sealed legal request, filed by one security admin, approved by the other, used once: answers its id. */
async function sealedAccess(days: number): Promise<string> {
  const [alice, bob] = emu.admins.map((a) => emu.client(a));
  const until = new Date(emu.clock.now() + days * DAY * 1000).toISOString();
  const filed = (
    await alice!.POST('/v1/admin/access-requests', {
      body: { vm: t.vm, operation: 'snapshot.create', reasonCode: 'legal_request', detail: 'court order 2026-17', durationMinutes: 60, sealUntil: until },
    })
  ).data!;
  await bob!.POST('/v1/admin/access-requests/{request}:approve', { params: { path: { request: filed.id } } });
  await alice!.POST('/v1/admin/access-requests/{request}:use', {
    params: { path: { request: filed.id } },
    body: { name: `legal-${filed.id.slice(-6).toLowerCase()}` },
  });
  return filed.id;
}

describe('issue 32: sealed access, as the tenant verifies it', () => {
  it('is a sealed record at once; past its date the next read reveals it, and audit verify matches it to the commitment', async () => {
    await sealedAccess(10);
    const sealed = await verify();
    assert.equal(sealed.code, 0, sealed.err);
    assert.match(sealed.out, /Sealed accesses: 1 \(0 revealed, each matching its commitment; seal_\w+ on vm_\w+ sealed until \S+\)/);
    await emu.clock.advance(11 * DAY);
    const revealed = await verify();
    assert.equal(revealed.code, 0, revealed.err);
    assert.match(revealed.out, /Sealed accesses: 1 \(1 revealed, each matching its commitment\)/);
  });

  it('a reveal that does not match its commitment, and a date passed with no reveal, fail audit verify with a clear message', async () => {
    const swapped = await sealedAccess(5);
    const suppressed = await sealedAccess(5);
    await emu.close();
    // The provider, with the server stopped: it points one seal at another record, and deletes the other seal outright.
    const db = new DatabaseSync(findD1(persist));
    db.prepare('UPDATE sealed_records SET hidden = \'{"log":"provider","index":0}\' WHERE access_request = ?').run(swapped);
    db.prepare('DELETE FROM sealed_records WHERE access_request = ?').run(suppressed);
    db.close();
    emu = await start();
    await emu.clock.advance(6 * DAY);
    const failed = await verify();
    assert.equal(failed.code, 1, failed.out);
    assert.match(failed.err, /FAILED: tenants\/ten_\w+: sealed records: /);
    assert.match(
      failed.err,
      /reveals seal seal_\w+ \(sealed at record \d+\), but what it reveals does not match the commitment sha256:[0-9a-f]{64} \(it hashes to sha256:[0-9a-f]{64}\)/,
    );
    assert.match(failed.err, /seal seal_\w+ \(record \d+, VM vm_\w+\) was due to be revealed by \S+, and the log carries no reveal/);
    assert.doesNotMatch(failed.err, /hint: .* is an emulator/, 'not a reset: no hint that says so');

    // The live stream flags them as the records show them.
    const size = Number(
      (
        (
          await emu
            .client({ id: t.tenant, key: t.owner.key })
            .GET('/v1/tenants/{tenant}/audit/checkpoint', { params: { path: { tenant: t.tenant } }, parseAs: 'text' })
        ).data as string
      ).split('\n')[1],
    );
    const tail = await runCli(emu.url, [
      'audit',
      'tail',
      '--tenant',
      t.tenant,
      '--key',
      join(dir, 'owner.jwk'),
      '--follow',
      '--limit',
      '100000',
      '--count',
      String(size),
    ]);
    assert.equal(tail.code, 0, tail.err);
    assert.match(tail.out, /⚠ sealed access: record \d+ reveals seal seal_\w+ .* does not match the commitment/);
    assert.match(tail.out, /⚠ sealed access: seal seal_\w+ .* was due to be revealed by/);

    // And the console's Verify says so in red.
    const browser = await launchBrowser();
    try {
      const page = await offlinePage(browser);
      await signInConsole(page, { url: emu.url, dir, jwk: t.owner.key, principal: t.tenant });
      await click(page.page, 'Verify');
      await click(page.page, 'Verify the log');
      await waitForTextOrShow(page.page, ['✘ Sealed records: the provider broke its promise', 'does not match the commitment', 'was due to be revealed by']);
    } finally {
      await browser.close();
    }
  });
});

describe('issue 32: break-glass', () => {
  it("one security admin is refused, two are allowed; the tenant's alerts fire at once; it expires on time", async () => {
    const tenant = await emu.provisionTenant();
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      // A rule of a kind break-glass is not: a break-glass access fires every rule the tenant has.
      await tenant.owner.api.POST('/v1/tenants/{tenant}/alerts', {
        params: { path: { tenant: tenant.tenant } },
        body: { kind: 'labelled_read', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` },
      });
      const [alice, bob] = emu.admins.map((a) => emu.client(a, { retry: { retries: 0 } }));
      const filed = (
        await alice!.POST('/v1/admin/access-requests', {
          body: {
            vm: tenant.vm,
            operation: 'snapshot.create',
            reasonCode: 'incident_response',
            detail: 'ransomware on the host',
            durationMinutes: 240,
            breakGlass: true,
          },
        })
      ).data!;
      await assert.rejects(
        alice!.POST('/v1/admin/access-requests/{request}:approve', { params: { path: { request: filed.id } } }),
        (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'self_approval',
      );
      await assert.rejects(
        alice!.POST('/v1/admin/access-requests/{request}:use', { params: { path: { request: filed.id } }, body: { name: 'bg-1' } }),
        (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'access_not_approved',
      );
      const jwks = (await tenant.owner.api.GET('/.well-known/jwks.json')).data!;
      const actions = () =>
        received
          .map((body) => openAlertDelivery(body, jwks as never).record)
          .filter((r) => (r.details as { breakGlass?: boolean }).breakGlass === true)
          .map((r) => r.action);
      const approvedAt = Date.now();
      await bob!.POST('/v1/admin/access-requests/{request}:approve', { params: { path: { request: filed.id } } });
      for (let i = 0; i < 60 && !actions().includes('access.approve'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(actions().includes('access.approve') && Date.now() - approvedAt < 3000, `the tenant hears of the grant at once: ${actions().join(', ')}`);
      assert.ok(actions().includes('access.request'), 'and of the filing');
      await alice!.POST('/v1/admin/access-requests/{request}:use', { params: { path: { request: filed.id } }, body: { name: 'bg-1' } });
      // Four hours and a minute later, it is over.
      await emu.clock.advance(4 * 3600 + 60);
      await assert.rejects(
        alice!.POST('/v1/admin/access-requests/{request}:use', { params: { path: { request: filed.id } }, body: { name: 'bg-2' } }),
        (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'access_not_approved',
      );
    } finally {
      server.close();
    }
  });
});
