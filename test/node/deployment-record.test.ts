/**
 * The deployment on the record (issue 30, item 3): two builds of one commit
 * have one digest; the first request of a deployment puts its build and
 * configuration in the provider log; replacing a bootstrap admin's key and
 * restarting leaves a new `deployment.statement`, which `custodes audit
 * verify` with the earlier saved state names; `--expect-build` passes for the
 * built digest and refuses another. A first verification pins no key the
 * server offers unless told to.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli';
import { buildWorker, WORKER_DIR } from '../../scripts/build-worker';
import { generatePrincipalKey, keyId } from '../../src/sdk/index';
import { startCustodes, type Custodes, type ProvisionedTenant } from '../../src/testing/index';

const dir = mkdtempSync(join(tmpdir(), 'custodes-deployment-'));
const persist = join(dir, 'state');
const statePath = join(dir, 'tenant-audit-state.json');
const ownerKey = join(dir, 'owner.jwk');
let emu: Custodes;
let tenant: ProvisionedTenant;
let built: string;

const custodes = (...argv: string[]) => runCli(emu.url, argv);
const verify = (...more: string[]) => custodes('audit', 'verify', '--tenant', tenant.tenant, '--key', ownerKey, '--state', statePath, ...more);

before(async () => {
  built = (await buildWorker()).buildDigest;
});
after(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('issue 30: the deployment is on the record', () => {
  it('two builds of one commit have one digest, the one npm run build:worker prints', async () => {
    const [a, b] = [join(dir, 'build-a'), join(dir, 'build-b')];
    const first = await buildWorker(a);
    const second = await buildWorker(b);
    assert.ok(first.built && second.built);
    assert.match(first.buildDigest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(first.buildDigest, second.buildDigest);
    assert.equal(first.buildDigest, (await buildWorker(WORKER_DIR)).buildDigest);
  });

  it('a swapped bootstrap key leaves a new statement that audit verify names; --expect-build passes for the built digest and refuses another', async () => {
    const [a, b, c] = [await generatePrincipalKey(), await generatePrincipalKey(), await generatePrincipalKey()];
    const auditKey = await generatePrincipalKey();
    const start = (second: typeof b) => startCustodes({ persist, adminKeys: [a, second], bindings: { AUDIT_SIGNING_JWK: JSON.stringify(auditKey) } });
    emu = await start(b);
    tenant = await emu.provisionTenant();
    writeFileSync(ownerKey, JSON.stringify(tenant.owner.key));

    // A first verification takes no key from the server unless told to.
    const refused = await verify();
    assert.equal(refused.code, 1);
    assert.match(refused.err, /no log key is pinned.*--log-key.*--trust-on-first-use/s);
    const logKey = (await (await fetch(`${emu.url}/v1/audit/log-key`)).text()).trim();
    const pinned = await verify('--log-key', logKey, '--expect-build', built);
    assert.equal(pinned.code, 0, pinned.err);
    assert.match(pinned.out, new RegExp(`Served by build ${built} \\(as expected\\)`));
    assert.match(pinned.out, /first deployment on record/);
    await emu.close();

    // The operator replaces the second bootstrap admin's key (as `wrangler secret put` would) and restarts.
    emu = await start(c);
    const { deployments } = (await (await fetch(`${emu.url}/v1/audit/deployments`)).json()) as {
      deployments: { index: number; statement: { bootstrapAdmins: { id: string; kid: string }[] } }[];
    };
    assert.equal(deployments.length, 2);
    assert.deepEqual(
      deployments[1]!.statement.bootstrapAdmins.map((x) => x.kid),
      [await keyId(a), await keyId(c)],
    );
    const after = await verify();
    assert.equal(after.code, 0, after.err);
    assert.match(after.out, new RegExp(`bootstrap admin adm_bootstrap2 key ${await keyId(b)} → ${await keyId(c)}`));
    // Reported once: the saved state now names that statement.
    assert.doesNotMatch((await verify()).out, /bootstrap admin adm_bootstrap2/);

    assert.equal((await verify('--expect-build', built)).code, 0);
    const other = await verify('--expect-build', `sha256:${'0'.repeat(64)}`);
    assert.equal(other.code, 1);
    assert.match(other.err, new RegExp(`served by a deployment of build ${built}, not the expected sha256:0{64}`));
  });
});
