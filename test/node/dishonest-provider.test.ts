/**
 * A dishonest provider is caught (issue 30, item 1): the tenant writes pages
 * twice with the CLI; with the server stopped, the provider edits its own D1
 * — an older version's envelope over the current row; the same with its
 * digest column; the same again with the head moved — and restarts. Every
 * read path refuses with a named error, a non-zero exit and no plaintext:
 * `custodes mem read`, `mem read --verify-fresh`, `mem read-version`, the
 * SDK, and the console (a red banner naming each page). A page left alone
 * still reads back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliRun } from './support/cli';
import { findD1 } from './support/store';
import { buildWorker } from '../../scripts/build-worker';
// @ts-expect-error plain JavaScript, no declarations
import { buildConsole } from '../../scripts/build-console.js';
import type { Browser } from 'puppeteer-core';
import { click, launchBrowser, offlinePage, pageText, signInConsole, waitForTextOrShow } from './support/browser';
import { generatePrincipalKey, GuestContents, ProviderMisbehaviourError, StaleVersionError, type Keystore } from '../../src/sdk/index';
import { startCustodes, type Custodes, type ProvisionedTenant } from '../../src/testing/index';

const dir = mkdtempSync(join(tmpdir(), 'custodes-dishonest-'));
const persist = join(dir, 'state');
let emu: Custodes;
let tenant: ProvisionedTenant;
let adminKeys: [Awaited<ReturnType<typeof generatePrincipalKey>>, Awaited<ReturnType<typeof generatePrincipalKey>>];
let auditKey: Awaited<ReturnType<typeof generatePrincipalKey>>;
const start = () => startCustodes({ persist, adminKeys, assets: 'public', bindings: { AUDIT_SIGNING_JWK: JSON.stringify(auditKey) } });

const ownerKey = join(dir, 'owner.jwk');
const keystore = join(dir, 'keystore.json');
const PAGE = 4096;

const custodes = (...argv: string[]) => runCli(emu.url, argv);

const owner = () => ['--tenant', tenant.tenant, '--key', ownerKey, '--keystore', keystore];
const secret = (version: number, page: number) => Buffer.from(`secret v${version} of page ${page}`.padEnd(64, '.'));

/** The provider's edits, one per page: what the finding did, and two that cover their tracks better. */
const EDITS = {
  1: 'envelope only',
  2: 'envelope and digest',
  3: 'envelope, digest and head',
} as const;

before(async () => {
  await buildWorker();
  await buildConsole();
  adminKeys = [await generatePrincipalKey(), await generatePrincipalKey()];
  auditKey = await generatePrincipalKey();
  emu = await start();
  tenant = await emu.provisionTenant();
  writeFileSync(ownerKey, JSON.stringify(tenant.owner.key));
  assert.equal((await custodes('key', 'init', '--keystore', keystore)).code, 0);
  // Pages 0–3, each written twice (versions 1 and 2) through the CLI.
  for (const version of [1, 2]) {
    for (const page of [0, 1, 2, 3]) {
      const file = join(dir, `v${version}-p${page}.bin`);
      writeFileSync(file, secret(version, page));
      const wrote = await custodes('mem', 'write', ...owner(), '--vm', tenant.vm, '--offset', String(page * PAGE), '--file', file);
      assert.equal(wrote.code, 0, wrote.err);
    }
  }
  await emu.close();

  // The provider, with the server stopped, edits its own store.
  const db = new DatabaseSync(findD1(persist));
  const row = (page: number, version: number) =>
    db
      .prepare("SELECT envelope, digest FROM content_versions WHERE space = 'memory' AND resource_id = ? AND idx = ? AND version = ?")
      .get(tenant.vm, page, version) as { envelope: string; digest: string };
  for (const page of [1, 2, 3]) {
    const v1 = row(page, 1);
    db.prepare("UPDATE content_versions SET envelope = ? WHERE space = 'memory' AND resource_id = ? AND idx = ? AND version = 2").run(
      v1.envelope,
      tenant.vm,
      page,
    );
    if (page >= 2)
      db.prepare("UPDATE content_versions SET digest = ? WHERE space = 'memory' AND resource_id = ? AND idx = ? AND version = 2").run(
        v1.digest,
        tenant.vm,
        page,
      );
    if (page === 3) db.prepare("UPDATE content_heads SET version = 1 WHERE space = 'memory' AND resource_id = ? AND idx = ?").run(tenant.vm, page);
  }
  db.close();
  emu = await start();
});

after(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

const noPlaintext = (result: CliRun) => {
  for (const version of [1, 2])
    for (const page of [0, 1, 2, 3]) {
      const text = `secret v${version} of page ${page}`;
      assert.ok(!result.bytes.includes(text) && !result.err.includes(text), `plaintext ${text} came out`);
    }
};

describe('issue 30: a provider that edits its store is caught on every read path', () => {
  it('an untouched page still reads back (the check costs nothing to an honest provider)', async () => {
    const read = await custodes('mem', 'read', ...owner(), '--vm', tenant.vm, '--offset', '0', '--length', '64', '--verify-fresh');
    assert.equal(read.code, 0, read.err);
    assert.deepEqual(read.bytes, secret(2, 0));
  });

  for (const [page, edit] of Object.entries(EDITS).map(([p, e]) => [Number(p), e] as const)) {
    it(`${edit}: mem read, mem read --verify-fresh and read-version refuse, exit 1, print no plaintext`, async () => {
      const range = ['--vm', tenant.vm, '--offset', String(page * PAGE), '--length', '64'];
      const plain = await custodes('mem', 'read', ...owner(), ...range);
      const fresh = await custodes('mem', 'read', ...owner(), ...range, '--verify-fresh');
      const atTwo = await custodes('mem', 'read-version', ...owner(), '--vm', tenant.vm, '--index', String(page), '--at', '2');
      for (const [name, result] of Object.entries({ plain, fresh, atTwo })) {
        assert.equal(result.code, 1, `${name}: ${result.err}`);
        assert.match(result.err, /provider misbehaviour|the provider served/, name);
        noPlaintext(result);
      }
      // Version 1 itself was not touched: what its readers saw is still there, and checks out.
      const atOne = await custodes('mem', 'read-version', ...owner(), '--vm', tenant.vm, '--index', String(page), '--at', '1');
      assert.equal(atOne.code, 0, atOne.err);
      assert.deepEqual(atOne.bytes.subarray(0, 64), secret(1, page));
    });
  }

  it('the SDK refuses the same, with ProviderMisbehaviourError (or StaleVersionError for a moved head) and no plaintext', async () => {
    // A client of the restarted instance (another port).
    const contents = new GuestContents(emu.client({ id: tenant.tenant, key: tenant.owner.key }), JSON.parse(readFileSync(keystore, 'utf8')) as Keystore);
    const target = { tenant: tenant.tenant, space: 'memory' as const, resource: tenant.vm };
    await assert.rejects(contents.read(target, 1 * PAGE, 64), ProviderMisbehaviourError);
    await assert.rejects(contents.read(target, 2 * PAGE, 64), ProviderMisbehaviourError);
    await assert.rejects(contents.readVersion(target, 3, 2), ProviderMisbehaviourError);
    await assert.rejects(contents.read(target, 3 * PAGE, 64), (e: unknown) => e instanceof StaleVersionError || e instanceof ProviderMisbehaviourError);
    assert.deepEqual(Buffer.from(await contents.read(target, 0, 64)), secret(2, 0));
  });

  it('the console shows a red banner naming each edited page, and no plaintext (it decrypts nothing)', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const page = await offlinePage(browser);
      await signInConsole(page, { url: emu.url, dir, jwk: tenant.owner.key, principal: tenant.tenant });
      await click(page.page, 'Memory and exposure');
      await click(page.page, 'Check served pages');
      await waitForTextOrShow(page.page, ['✘ Provider misbehaviour']);
      const shown = await pageText(page.page);
      // Page 1 (envelope only) and page 2 (envelope and digest): the bytes contradict the signed records.
      assert.match(shown, /provider misbehaviour on page 1 version 2: the bytes served are not/);
      assert.match(shown, /provider misbehaviour on page 2 version 2: the bytes served are not/);
      // Page 3 (the head moved back too): consistent on its own, older than the verified log's newest write.
      assert.match(shown, /page 3: the provider served version 1, but the audit log's latest write is version 2/);
      assert.doesNotMatch(shown, /page 0/, 'the untouched page is not named');
      assert.doesNotMatch(shown, /secret v\d of page/);
      assert.deepEqual(page.blocked, [], 'no request leaves 127.0.0.1');
    } finally {
      await browser?.close();
    }
  });
});
