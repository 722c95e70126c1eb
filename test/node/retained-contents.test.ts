/**
 * The log's references stay reachable (issue 30, item 2): deleting a disk and
 * a VM keeps their versions, readable by version, and `custodes audit
 * contents` checks every one the verified log names; the tenant's audited
 * purge is the only way they go, and its record names each version purged; a
 * version the provider deletes or alters in its store is reported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli';
import { findD1 } from './support/store';
import { buildWorker } from '../../scripts/build-worker';
import { CustodesApiError, generatePrincipalKey, GuestContents, newKeystore, type Keystore } from '../../src/sdk/index';
import { startCustodes, type Custodes, type ProvisionedTenant } from '../../src/testing/index';

const dir = mkdtempSync(join(tmpdir(), 'custodes-retained-'));
const persist = join(dir, 'state');
const ownerKey = join(dir, 'owner.jwk');
let emu: Custodes;
let t: ProvisionedTenant;
let disk: string;
let keystore: Keystore;
let start: () => Promise<Custodes>;

const custodes = (...argv: string[]) => runCli(emu.url, argv);
const contentsCheck = () => custodes('audit', 'contents', '--tenant', t.tenant, '--key', ownerKey);
const owner = () => emu.client({ id: t.tenant, key: t.owner.key });

before(async () => {
  await buildWorker();
  const adminKeys: [Awaited<ReturnType<typeof generatePrincipalKey>>, Awaited<ReturnType<typeof generatePrincipalKey>>] = [
    await generatePrincipalKey(),
    await generatePrincipalKey(),
  ];
  const auditKey = await generatePrincipalKey();
  start = () => startCustodes({ persist, adminKeys, bindings: { AUDIT_SIGNING_JWK: JSON.stringify(auditKey) } });
  emu = await start();
  t = await emu.provisionTenant();
  writeFileSync(ownerKey, JSON.stringify(t.owner.key));
  keystore = await newKeystore();
  const contents = new GuestContents(t.owner.api, keystore);
  await contents.write({ tenant: t.tenant, space: 'memory', resource: t.vm }, 0, Buffer.from('memory, version one'));
  await contents.write({ tenant: t.tenant, space: 'memory', resource: t.vm }, 0, Buffer.from('memory, version two'));
  disk = (await t.owner.api.POST('/v1/tenants/{tenant}/disks', { params: { path: { tenant: t.tenant } }, body: { name: 'scratch', sizeGiB: 1 } })).data!.id;
  await contents.write({ tenant: t.tenant, space: 'disk', resource: disk }, 0, Buffer.alloc(2 * 4096, 7));
});
after(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('issue 30: the versions the log names stay reachable', () => {
  it('a deleted disk and a deleted VM keep their versions: audit contents checks them all, and a past version still decrypts', async () => {
    await t.owner.api.DELETE('/v1/tenants/{tenant}/disks/{disk}', { params: { path: { tenant: t.tenant, disk } } });
    const [proposer, approver] = emu.admins.map((a) => emu.client(a));
    const proposed = (await proposer!.DELETE('/v1/admin/vms/{vm}', { params: { path: { vm: t.vm } } })).data as unknown as { id: string };
    await approver!.POST('/v1/admin/changes/{change}:approve', { params: { path: { change: proposed.id } } });
    assert.equal(
      (await proposer!.GET('/v1/admin/vms', {})).data!.vms.some((v: { id: string }) => v.id === t.vm),
      false,
      'the VM is gone',
    );

    const checked = await contentsCheck();
    assert.equal(checked.code, 0, checked.err);
    assert.match(checked.out, /OK: 4 of 4 version\(s\) the log names checked; 0 purged/);
    const past = await new GuestContents(owner(), keystore).readVersion({ tenant: t.tenant, space: 'memory', resource: t.vm }, 0, 1);
    assert.equal(Buffer.from(past).subarray(0, 19).toString(), 'memory, version one');
  });

  it("only the tenant's audited purge takes them, and its record names each version purged", async () => {
    const api = owner();
    const live = await emu.provisionTenant();
    await assert.rejects(
      live.owner.api.POST('/v1/tenants/{tenant}/purges', { params: { path: { tenant: live.tenant } }, body: { space: 'memory', resource: live.vm } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'resource_in_use',
    );
    const purged = (await api.POST('/v1/tenants/{tenant}/purges', { params: { path: { tenant: t.tenant } }, body: { space: 'disk', resource: disk } })).data!;
    assert.deepEqual(
      purged.purged.map((p) => [p.index, p.version]),
      [
        [0, 1],
        [1, 1],
      ],
    );
    assert.equal(purged.remaining, 0);
    const { records } = (await api.GET('/v1/tenants/{tenant}/audit/records', { params: { path: { tenant: t.tenant }, query: { from: 0, limit: 1000 } } }))
      .data!;
    const record = records
      .map((r) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString()) as { action: string; details: { purged: { digest: string }[] } })
      .find((r) => r.action === 'contents.purge');
    assert.deepEqual(
      record?.details.purged.map((p) => p.digest),
      purged.purged.map((p) => p.digest),
    );
    const checked = await contentsCheck();
    assert.equal(checked.code, 0, checked.err);
    assert.match(checked.out, /OK: 2 of 2 version\(s\) the log names checked; 2 purged/);
  });

  it('a version the provider deletes or alters in its store is reported, and audit contents exits 1', async () => {
    await emu.close();
    const db = new DatabaseSync(findD1(persist));
    const envelope = (
      db.prepare("SELECT envelope FROM content_versions WHERE space = 'memory' AND resource_id = ? AND idx = 0 AND version = 1").get(t.vm) as {
        envelope: string;
      }
    ).envelope;
    db.prepare("UPDATE content_versions SET envelope = ? WHERE space = 'memory' AND resource_id = ? AND idx = 0 AND version = 2").run(envelope, t.vm);
    db.prepare("DELETE FROM content_versions WHERE space = 'memory' AND resource_id = ? AND idx = 0 AND version = 1").run(t.vm);
    db.close();
    emu = await start();
    const checked = await contentsCheck();
    assert.equal(checked.code, 1, checked.out);
    assert.match(checked.err, /MISSING: memory vm_\w+ page 0 version 1/);
    assert.match(checked.err, /ALTERED: memory vm_\w+ page 0 version 2/);
  });
});
