/**
 * The emulator can lie on purpose (issue 30, item 4): each integrity fault
 * makes this instance answer as a dishonest provider would, and a test shows
 * which tenant tool catches it and with which error — the README's threat
 * table names the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli';
import { buildWorker } from '../../scripts/build-worker';
import { GuestContents, newKeystore, ProviderMisbehaviourError, type Keystore } from '../../src/sdk/index';
import { startCustodes, type Custodes, type ProvisionedTenant } from '../../src/testing/index';

const dir = mkdtempSync(join(tmpdir(), 'custodes-integrity-'));
let emu: Custodes;
let t: ProvisionedTenant;
let keystore: Keystore;
const target = () => ({ tenant: t.tenant, space: 'memory' as const, resource: t.vm });
const PAGES = `GET /v1/tenants/*/vms/*/memory/pages`;

const custodes = (...argv: string[]) => runCli(emu.url, argv);

before(async () => {
  await buildWorker();
  emu = await startCustodes();
  t = await emu.provisionTenant();
  keystore = await newKeystore();
  const contents = new GuestContents(t.owner.api, keystore);
  await contents.write(target(), 0, Buffer.from('first secret'));
  await contents.write(target(), 0, Buffer.from('second secret'));
  writeFileSync(join(dir, 'owner.jwk'), JSON.stringify(t.owner.key));
});
after(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The rules as the emulator holds them, with what it filled in when they were set. */
const faultsInForce = async (): Promise<unknown[]> =>
  ((await (await fetch(`${emu.url}/_emulator/faults`, { headers: { Authorization: `Bearer ${emu.controlToken}` } })).json()) as { faults: unknown[] }).faults;

const verify = (...more: string[]) =>
  custodes('audit', 'verify', '--tenant', t.tenant, '--key', join(dir, 'owner.jwk'), '--state', join(dir, 'state.json'), ...more);

describe('issue 30: integrity faults, and the tool that catches each', () => {
  it('stale-content: an older envelope under the current version — the SDK read refuses (ProviderMisbehaviourError)', async () => {
    await emu.faults.set([{ kind: 'stale-content', route: PAGES }]);
    // A reader with a keystore of its own (no memory of the writes): the signed records alone catch it.
    await assert.rejects(
      new GuestContents(t.toolstack.api, { ...keystore, written: {} }).read(target(), 0, 13),
      (e: unknown) => e instanceof ProviderMisbehaviourError && /not the bytes/.test(e.message),
    );
    await emu.faults.clear();
    assert.equal(Buffer.from(await new GuestContents(t.toolstack.api, { ...keystore, written: {} }).read(target(), 0, 13)).toString(), 'second secret');
  });

  it("withhold-content: a written page served as unwritten — the SDK read refuses (the read's record names it)", async () => {
    await emu.faults.set([{ kind: 'withhold-content', route: PAGES }]);
    await assert.rejects(
      new GuestContents(t.toolstack.api, { ...keystore, written: {} }).read(target(), 0, 13),
      (e: unknown) => e instanceof ProviderMisbehaviourError && /withheld/.test(e.message),
    );
    await emu.faults.clear();
  });

  it('rewrite-record: a record altered, its signature kept — audit verify refuses', async () => {
    assert.equal((await verify('--trust-on-first-use')).code, 0);
    await emu.faults.set([{ kind: 'rewrite-record', route: 'GET /v1/tenants/*/audit/records' }]);
    const refused = await verify();
    assert.equal(refused.code, 1);
    assert.match(refused.err, /FAILED: tenants\/ten_\w+: .*record \d+/);
    await emu.faults.clear();
  });

  it('drop-newest-record: the newest write hidden behind a consistent, freshly signed older log — mem read --verify-fresh refuses', async () => {
    const keystoreFile = join(dir, 'keystore.json');
    const contents = new GuestContents(t.owner.api, keystore, (k) => writeFileSync(keystoreFile, JSON.stringify(k)));
    await contents.write(target(), 0, Buffer.from('third secret!')); // the newest record of the tenant's log
    await emu.faults.set([{ kind: 'drop-newest-record', route: 'GET /v1/tenants/*/audit/**' }]);
    const read = await custodes(
      'mem',
      'read',
      '--tenant',
      t.tenant,
      '--key',
      join(dir, 'owner.jwk'),
      '--keystore',
      keystoreFile,
      '--vm',
      t.vm,
      '--offset',
      '0',
      '--length',
      '13',
      '--verify-fresh',
    );
    assert.equal(read.code, 1, read.out);
    // The keystore remembers its own write's record: a verified log that ends before it was rolled back.
    assert.match(read.err, /the verified log ends at record \d+, before this keystore's own write \(record \d+\): the log was rolled back/);
    assert.doesNotMatch(read.out, /third secret/);
    // The log as served is consistent on its own: what it lacks is only visible against newer evidence.
    assert.equal((await verify('--trust-on-first-use', '--state', join(dir, 'fresh-state.json'))).code, 0);
    // A reader without that memory is still refused: the page served is newer than the verified log's latest write.
    const forgetful = join(dir, 'forgetful-keystore.json');
    writeFileSync(forgetful, JSON.stringify({ ...keystore, written: {}, writtenAt: {} }));
    const stale = await custodes(
      'mem',
      'read',
      '--tenant',
      t.tenant,
      '--key',
      join(dir, 'owner.jwk'),
      '--keystore',
      forgetful,
      '--vm',
      t.vm,
      '--offset',
      '0',
      '--length',
      '13',
      '--verify-fresh',
    );
    assert.equal(stale.code, 1, stale.out);
    assert.match(stale.err, /the provider served version 3, but the audit log's latest write is version 2/);
    await emu.faults.clear();
    const honest = await custodes(
      'mem',
      'read',
      '--tenant',
      t.tenant,
      '--key',
      join(dir, 'owner.jwk'),
      '--keystore',
      keystoreFile,
      '--vm',
      t.vm,
      '--offset',
      '0',
      '--length',
      '13',
      '--verify-fresh',
    );
    assert.equal(honest.code, 0, honest.err);
    assert.equal(Buffer.from(honest.out).toString(), 'third secret!');
  });

  it("swap-bootstrap-key: a bootstrap admin's key replaced under the running instance — audit verify names the new deployment statement", async () => {
    assert.equal((await verify()).code, 0);
    await emu.faults.set([{ kind: 'swap-bootstrap-key', route: '**' }]);
    const [rule] = (await faultsInForce()) as { key: { x: string } }[];
    assert.ok(rule?.key.x, 'the emulator made the new key');
    // The old second bootstrap key is no longer known (401, where a retired one is 403); the change is on the record.
    await assert.rejects(
      emu.client(emu.bootstrapAdmins[1], { retry: { retries: 0 } }).GET('/v1/admin/admins'),
      (e: unknown) => (e as { problem?: { status?: number } }).problem?.status === 401,
    );
    const after = await verify();
    assert.equal(after.code, 0, after.err);
    assert.match(after.out, /Deployment on record since your saved state .*bootstrap admin adm_bootstrap2 key \S+ → \S+/);
    await emu.faults.clear();
  });

  it('split-view: a reader shown a fork re-signed by the audit key — alone it looks whole; audit verify against a state saved before refuses', async () => {
    assert.equal((await verify()).code, 0); // the state saved before the fork
    await emu.faults.set([{ kind: 'split-view', route: 'GET /v1/tenants/*/audit/**' }]);
    const firstLook = await verify('--trust-on-first-use', '--state', join(dir, 'first-look.json'));
    assert.equal(firstLook.code, 0, firstLook.err); // self-consistent: a first-time reader cannot tell
    const saved = await verify();
    assert.equal(saved.code, 1, saved.out);
    assert.match(saved.err, /FAILED: tenants\/ten_\w+: .*consisten/i);
    await emu.faults.clear();
    assert.equal((await verify()).code, 0);
  });

  it("rollback-store: the whole store put back as it was copied — a plain mem read refuses (the keystore's own write is not in the log), and so does audit verify with the state saved after it", async () => {
    await emu.faults.set([{ kind: 'rollback-store', route: 'GET /v1/tenants/*/vms' }]);
    const [rule] = (await faultsInForce()) as { copiedAt?: string; times: number }[];
    assert.ok(rule?.copiedAt && rule.times === 1, JSON.stringify(rule));
    const keystoreFile = join(dir, 'rollback-keystore.json');
    const contents = new GuestContents(t.owner.api, keystore, (k) => writeFileSync(keystoreFile, JSON.stringify(k)));
    await contents.write(target(), 0, Buffer.from('fourth secret')); // after the copy: the rollback loses it
    assert.equal((await verify()).code, 0); // the state saved after that write
    // The first list finds the store rolled back; the log then grows past where the lost write was.
    for (let i = 0; i < 6; i++) await t.owner.api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant: t.tenant } } });
    // The older page, under a consistent log signed by the same key and longer than the keystore's write index.
    const read = await custodes(
      'mem',
      'read',
      '--tenant',
      t.tenant,
      '--key',
      join(dir, 'owner.jwk'),
      '--keystore',
      keystoreFile,
      '--vm',
      t.vm,
      '--offset',
      '0',
      '--length',
      '13',
    );
    assert.equal(read.code, 1, read.out);
    assert.match(read.err, /ProviderMisbehaviour|provider misbehaviour/i);
    assert.match(read.err, /this keystore wrote version \d+, but the verified log has no record of that write: the log was rolled back/);
    assert.doesNotMatch(read.out, /secret/);
    // The rule is spent, and the tenant's saved state refuses the log that lost the write.
    assert.deepEqual(await faultsInForce(), []);
    const after = await verify();
    assert.equal(after.code, 1, after.out);
    assert.match(after.err, /FAILED: tenants\/ten_\w+: the log was rewritten: its first \d+ records no longer hash to the saved checkpoint.s root/);
  });
});
