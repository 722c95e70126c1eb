/**
 * The web console (issue 18) in a real browser — Debian's chromium through
 * puppeteer-core — against a real instance serving the console's bundle from
 * its static assets. Every request the page makes is intercepted: none may
 * leave 127.0.0.1, and none may carry the loaded key's private member `d`,
 * which must not be in localStorage either.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import type { JWK } from 'jose';
import { findD1 } from './support/store';
import { buildWorker } from '../../scripts/build-worker';
// @ts-expect-error plain JavaScript, no declarations
import { buildConsole } from '../../scripts/build-console.js';
import { CustodesApiError, generatePrincipalKey, GuestContents, newKeystore } from '../../src/sdk/index';
import { startCustodes, type Custodes, type ProvisionedTenant } from '../../src/testing/index';
import { click, launchBrowser, offlinePage, pageText, signInConsole, waitForTextOrShow as waitForText, type OfflinePage } from './support/browser';

const dir = mkdtempSync(join(tmpdir(), 'custodes-console-'));
const persist = join(dir, 'state');
let browser: Browser;
let emu: Custodes;
let adminKeys: [JWK, JWK];
let auditKey: JWK;
const start = () => startCustodes({ persist, adminKeys, assets: 'public', bindings: { AUDIT_SIGNING_JWK: JSON.stringify(auditKey) } });

before(async () => {
  await buildWorker();
  await buildConsole();
  adminKeys = [await generatePrincipalKey(), await generatePrincipalKey()];
  auditKey = await generatePrincipalKey();
  emu = await start();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

// The page's own globals (the Node tsconfig has no DOM library).
declare const document: { querySelector(s: string): { getAttribute(n: string): string | null; className: string } | null };
declare const localStorage: { length: number; key(i: number): string | null; getItem(k: string): string | null };

/** Loads a private JWK into the console as `principal`, through its file input. */
const signIn = (page: OfflinePage, jwk: JWK, principal: string, tenant = '') => signInConsole(page, { url: emu.url, dir, jwk, principal, tenant });

/** Nothing left the machine, and the key's private member is in no request and not in localStorage. */
async function assertKeyStayed(page: OfflinePage, jwk: JWK): Promise<void> {
  assert.deepEqual(page.blocked, [], 'no request leaves 127.0.0.1');
  assert.ok(page.sent.length > 5);
  for (const request of page.sent) {
    const seen = `${request.url} ${JSON.stringify(request.headers)} ${request.body ?? ''}`;
    assert.ok(!seen.includes(jwk.d!), `the private key went out in ${request.method} ${request.url}`);
  }
  const stored = await page.page.evaluate(() =>
    Array.from({ length: localStorage.length }, (_, i) => `${localStorage.key(i)}=${localStorage.getItem(localStorage.key(i)!)}`).join('\n'),
  );
  assert.ok(!stored.includes(jwk.d!), 'no private key in localStorage');
  assert.doesNotMatch(stored, /"d"\s*:/);
}

/** The README's screenshots (docs/console-*.png), written when CUSTODES_SCREENSHOTS=1: a plain test run leaves the checkout as it was. */
const screenshot = (page: Page, name: string) => (process.env.CUSTODES_SCREENSHOTS === '1' ? page.screenshot({ path: `docs/console-${name}.png` }) : undefined);

const pageVersion = (page: Page, index: number) =>
  page.evaluate((i: number) => document.querySelector(`[data-page="${i}"]`)?.getAttribute('data-version') ?? null, index);

describe('the web console', () => {
  let tenant: ProvisionedTenant;
  let toolstackId: string;

  it("a tenant loads its key, sees an admin's denied attempt, verifies the log, sees a labelled page read by a toolstack, and undoes the toolstack's work", async () => {
    tenant = await emu.provisionTenant();
    toolstackId = tenant.toolstack.id;
    const target = { tenant: tenant.tenant, space: 'memory' as const, resource: tenant.vm };
    // The owner writes four pages and labels them; a stolen toolstack overwrites one and reads them all.
    const keystore = await newKeystore();
    await new GuestContents(tenant.owner.api, keystore).write(target, 0, new Uint8Array(4 * 4096).fill(1));
    await tenant.owner.api.PUT('/v1/tenants/{tenant}/labels/{name}', {
      params: { path: { tenant: tenant.tenant, name: 'db-key' } },
      body: { space: 'memory', vm: tenant.vm, start: 0, count: 4 },
    });
    const stolen = new GuestContents(tenant.toolstack.api, keystore);
    await stolen.write(target, 4096, new Uint8Array(4096).fill(9));
    await stolen.read(target, 0, 4 * 4096);
    // Later, legitimate work: the owner rewrites page 3, which the undo must keep.
    await new GuestContents(tenant.owner.api, keystore).write(target, 3 * 4096, new Uint8Array(4096).fill(3));
    // An admin reaches for the tenant's memory: refused, and in the tenant's log.
    const admin = emu.client(emu.admins[0]);
    await assert.rejects(
      admin.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant: tenant.tenant, vm: tenant.vm }, query: { start: 0, count: 4 } } }),
      (e: unknown) => e instanceof CustodesApiError,
    );

    const page = await offlinePage(browser);
    await signIn(page, tenant.owner.key, tenant.tenant);
    await waitForText(page.page, ['The audit log of', emu.admins[0].id, 'denied', 'Live: new records appear here']);
    await screenshot(page.page, 'timeline');
    // Signing in loads the log once: one checkpoint, one stream (each read is a record in the tenant's own log).
    const loaded = (path: RegExp) => page.sent.filter((r) => r.method === 'GET' && path.test(new URL(r.url).pathname)).length;
    assert.equal(loaded(/\/audit\/checkpoint$/), 1, 'the checkpoint, once');
    assert.equal(loaded(/\/audit\/stream$/), 1, 'the stream, once');
    // Live: a new attempt appears in the open timeline without a reload. The stream's own record first: it commits once
    // the stream is subscribed, and the note shows the latest record only, so an attempt made before it would be overwritten.
    await waitForText(page.page, ['(audit.stream.open, allowed) just committed']);
    await assert.rejects(admin.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant: tenant.tenant } } }), (e: unknown) => e instanceof CustodesApiError);
    await waitForText(page.page, ['(vm.list, denied) just committed']);

    await click(page.page, 'Verify');
    await click(page.page, 'Verify the log');
    await waitForText(page.page, ['✔ Verified', 'every signature, the Merkle root and the signed checkpoint check out', 'First verification in this browser']);
    await click(page.page, 'Verify the log');
    await waitForText(page.page, ['It extends the checkpoint saved here last time']);

    await click(page.page, 'Memory and exposure');
    await waitForText(page.page, ['Reads of labelled regions', 'db-key', `toolstack ${toolstackId}`]);
    await page.page.select('select[name=reader]', `toolstack ${toolstackId}`);
    const cell = await page.page.evaluate(() => document.querySelector('[data-page="2"]')?.className ?? '');
    assert.match(cell, /\blabelled\b/);
    assert.match(cell, /\bread\b/);
    assert.equal(await pageVersion(page.page, 1), '2', "page 1 holds the toolstack's write");
    await screenshot(page.page, 'exposure');

    await click(page.page, 'Recovery');
    await page.page.waitForSelector('input[name=seed]');
    await page.page.type('input[name=seed]', toolstackId);
    await click(page.page, 'Preview the undo plan');
    await waitForText(page.page, ['Pages that roll back', 'goes back to', 'Legitimate writes that survive', 'Disclosures: reads cannot be undone']);
    assert.match(await pageText(page.page), /memory vm_\w+\s+1\s+v2\s+v1/);
    await screenshot(page.page, 'recovery');
    await click(page.page, 'Apply the plan');
    await waitForText(page.page, ['the pages are back']);

    await click(page.page, 'Memory and exposure');
    await waitForText(page.page, ['Reads of labelled regions']);
    assert.equal(await pageVersion(page.page, 1), '1', "page 1 is back to the owner's version");
    assert.equal(await pageVersion(page.page, 3), '2', "the owner's later write survives");
    // What an honest provider serves after a recovery checks out against the signed log (the rollback is in it).
    await click(page.page, 'Check served pages');
    await waitForText(page.page, ['the provider served are exactly what the signed log says']);
    // And the plan can be reverted from the console: page 1 holds the toolstack's version again.
    await click(page.page, 'Recovery');
    await waitForText(page.page, ['Plans made before', 'applied']);
    const plan = /Revert (rcp_\w+)/.exec(await pageText(page.page))![1]!;
    await click(page.page, `Revert ${plan}`);
    await waitForText(page.page, [`Reverted plan ${plan}.`]);
    await click(page.page, 'Memory and exposure');
    await waitForText(page.page, ['Reads of labelled regions']);
    assert.equal(await pageVersion(page.page, 1), '2', 'reverted: the undo is undone');
    await assertKeyStayed(page, tenant.owner.key);
    await page.page.close();
  });

  it('a second admin approves a pending change in the console, seeing what will execute', async () => {
    const { vm } = await emu.provisionTenant();
    const [first, second] = emu.admins.map((a) => emu.client(a));
    const change = (await first!.DELETE('/v1/admin/vms/{vm}', { params: { path: { vm } } })).data as unknown as { id: string };
    const page = await offlinePage(browser);
    await signIn(page, emu.admins[1].key, emu.admins[1].id);
    await waitForText(page.page, ['Pending change requests', `vm.delete on vm ${vm}`, 'What executes', emu.admins[0].id]);
    await click(page.page, `Approve ${change.id}`);
    await waitForText(page.page, [`${change.id}: executed`]);
    await assert.rejects(
      second!.GET('/v1/admin/vms/{vm}', { params: { path: { vm } } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'not_found',
    );
    await click(page.page, 'Hosts');
    await waitForText(page.page, ['Placement and free capacity', 'free vCPUs']);
    await assertKeyStayed(page, emu.admins[1].key);
    await page.page.close();
  });

  it("a tenant approves the provider's access request; a failure shows the problem's title, code and request id", async () => {
    const admin = emu.client(emu.admins[0]);
    const request = (
      await admin.POST('/v1/admin/access-requests', {
        body: { vm: tenant.vm, operation: 'snapshot.create', reasonCode: 'customer_support', detail: 'ticket 4711: guest will not boot', durationMinutes: 30 },
      })
    ).data!;
    // The tenant's policy decides maintenance at once: the console shows the policy, and that it decided.
    await tenant.owner.api.PUT('/v1/tenants/{tenant}/access-policy', {
      params: { path: { tenant: tenant.tenant } },
      body: { rules: [{ reasonCode: 'maintenance', decision: 'allow', maxMinutes: 15 }] },
    });
    await admin.POST('/v1/admin/access-requests', {
      body: { vm: tenant.vm, operation: 'snapshot.create', reasonCode: 'maintenance', detail: 'firmware update', durationMinutes: 60 },
    });
    const page = await offlinePage(browser);
    await signIn(page, tenant.owner.key, tenant.tenant);
    await click(page.page, 'Access requests');
    await waitForText(page.page, [
      'customer_support: ticket 4711',
      'pending',
      'maintenance: firmware update',
      'your policy',
      'allowed at once, for at most 15 min',
    ]);
    await click(page.page, `Approve ${request.id}`);
    await waitForText(page.page, [`Approved ${request.id}.`, 'approved']);
    assert.equal(
      (await tenant.owner.api.GET('/v1/tenants/{tenant}/access-requests/{request}', { params: { path: { tenant: tenant.tenant, request: request.id } } })).data!
        .state,
      'approved',
    );
    await page.page.close();

    // The owner's key under another principal's name: the server refuses the token, and the page says how.
    const wrong = await offlinePage(browser);
    await signIn(wrong, tenant.owner.key, emu.admins[0].id);
    await waitForText(wrong.page, ['code token_', 'request id req_']);
    assert.deepEqual([...page.blocked, ...wrong.blocked], [], 'no request leaves 127.0.0.1');
    await wrong.page.close();
  });

  it('a record tampered with in the local D1 makes the browser verification fail and name it', async () => {
    await emu.close();
    const sqlite = findD1(persist);
    const db = new DatabaseSync(sqlite);
    const row = db
      .prepare("SELECT idx, jws FROM audit_records WHERE log = ? AND action = 'vm.memory.read' ORDER BY idx LIMIT 1")
      .get(`tenants/${tenant.tenant}`) as { idx: number; jws: string };
    const [header, payload, signature] = row.jws.split('.') as [string, string, string];
    const record = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    record.actor.id = 'someone-else'; // hide who read
    db.prepare('UPDATE audit_records SET jws = ? WHERE log = ? AND idx = ?').run(
      `${header}.${Buffer.from(JSON.stringify(record)).toString('base64url')}.${signature}`,
      `tenants/${tenant.tenant}`,
      row.idx,
    );
    db.close();
    emu = await start();
    const page = await offlinePage(browser);
    await signIn(page, tenant.owner.key, tenant.tenant);
    await click(page.page, 'Verify');
    await click(page.page, 'Verify the log');
    await waitForText(page.page, ['✘ Verification failed', `record ${row.idx}:`]);
    assert.deepEqual(page.blocked, [], 'no request leaves 127.0.0.1');
    await page.page.close();
  });
});
