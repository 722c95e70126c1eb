/**
 * The README's contract, end to end: `npm start` serves the API on a local D1
 * and prints a first command, and that command succeeds. Runs scripts/start.js
 * on its own port and database so it never disturbs a developer's instance.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { compactDecrypt, importJWK } from 'jose';
import { verifyAuditLog } from '../../src/sdk/audit-verify';
import { decryptPage, encryptPage, newDataKey, PAGE_BYTES } from '../../src/sdk/envelope';
import { generatePrincipalKey, mintToken, publicKeyOf } from '../../src/sdk/keys';
import { GENERATORS } from './support/generators';
import { clickText, launchBrowser, offlinePage, pageText, waitForText } from './support/browser';

const state = mkdtempSync(join(tmpdir(), 'custodes-start-'));
// Port 0: the server picks a free one and prints it, so the suite never talks to a server someone else started.
/** `npm start` on this suite's own state; `more` adds to its environment (a restart keeping its controls). */
function startServer(more: Record<string, string> = {}) {
  const started = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/start.ts'], {
    env: { ...process.env, CUSTODES_PORT: '0', CUSTODES_STATE: state, ...more },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: wrangler and workerd stop with it
  });
  output = '';
  started.stdout.on('data', (chunk) => (output += chunk));
  started.stderr.on('data', (chunk) => (output += chunk));
  return started;
}
let output = '';
let server = startServer();

after(() => {
  try {
    process.kill(-server.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(state, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const work = mkdtempSync(join(tmpdir(), 'custodes-canary-'));
mkdirSync(resolve('.generated'), { recursive: true });
/** Where the server listens: known once it printed its address (`printedCommand`). */
let url = '';

/** Runs the CLI as a user would; fails the test with its output on a non-zero exit. */
function custodes(...args: string[]): string {
  const run = spawnSync(process.execPath, ['bin/custodes.js', ...args, '--url', url], { encoding: 'utf8' });
  assert.equal(run.status, 0, `custodes ${args.join(' ')}\n${run.stdout}${run.stderr}\nthe server said (last 3000 characters):\n${output.slice(-3000)}`);
  return run.stdout;
}

/** Through the admin CLI: a host, a tenant owned by a fresh key, a VM; and the tenant's keystore. */
function provisionTenant(name: string) {
  const admin = ['--key', '.custodes/admin.jwk'];
  const ownerKey = join(work, `${name}-owner.jwk`);
  custodes('keygen', '--out', ownerKey);
  custodes('admin', 'hosts', 'create', '--name', `${name}-host`, '--vcpus', '8', '--memory-mib', '8192', '--disk-gib', '100', ...admin);
  const tenant = JSON.parse(
    custodes(
      'admin',
      'tenants',
      'create',
      '--name',
      `${name}-tenant`,
      '--owner-key',
      ownerKey.replace(/\.jwk$/, '.pub.jwk'),
      '--vcpus',
      '4',
      '--memory-mib',
      '4096',
      '--disk-gib',
      '10',
      '--json',
      ...admin,
    ),
  ).id as string;
  const vm = JSON.parse(
    custodes('admin', 'vms', 'create', '--tenant', tenant, '--name', `${name}-vm`, '--vcpus', '1', '--memory-mib', '128', '--json', ...admin),
  ).id as string;
  const keystore = join(work, `${name}-keystore.json`);
  custodes('key', 'init', '--keystore', keystore);
  return { ownerKey, tenant, vm, keystore, owner: ['--tenant', tenant, '--key', ownerKey, '--keystore', keystore] };
}

/** Every file under `dir`, recursively: the whole local D1 state. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function printedCommand(): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const match = /Try a first authenticated call:\n\s+(npx custodes .+)\n/.exec(output);
    if (match) {
      url = /Custodes is serving on (http:\/\/\S+)/.exec(output)![1]!;
      return match[1]!;
    }
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`npm start printed no first command:\n${output}`);
}

/** A tenant program outside the checkout, run with plain `node` against the packed SDK (`npm run pack:sdk`). */
const SDK_PROGRAM = `
import { readFileSync } from 'node:fs';
import { auditSource, createApiClient, GuestContents, newKeystore, verifyAuditLog } from 'custodes/sdk';

const [url, tenant, vm, keyPath] = process.argv.slice(2);
const api = createApiClient({ baseUrl: url, key: JSON.parse(readFileSync(keyPath, 'utf8')), principal: tenant });
const contents = new GuestContents(api, await newKeystore());
const target = { tenant, space: 'memory', resource: vm };
const secret = new TextEncoder().encode('sealed here, stored as ciphertext, read back here');
const { pages } = await contents.write(target, 8180, secret);
const back = new TextDecoder().decode(await contents.read(target, 8180, secret.length));
const log = 'tenants/' + tenant;
const verified = await verifyAuditLog(auditSource(api, log), { log });
if (!verified.ok) throw new Error(verified.error);
console.log(JSON.stringify({ pages, back, records: verified.checkpoint.size }));
`;

/** Splits one shell command line into words: double and single quotes, no expansions (the tour uses none inside `npx custodes` lines). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}

/** The README tour's commands: one per line (continuations joined), each with the exit code its comment expects. */
function tourCommands(): { line: string; exit: number }[] {
  const readme = readFileSync('README.md', 'utf8');
  const block = /<!-- tour:[^>]*-->\n```sh\n([\s\S]+?)```/.exec(readme)?.[1];
  assert.ok(block, 'the README has the tour');
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'))
    .map((line) => {
      const comment = /\s#\s.*$/.exec(line)?.[0] ?? '';
      return { line: line.slice(0, line.length - comment.length).trim(), exit: /exit 1/.test(comment) ? 1 : 0 };
    });
}

/** The two Node versions a tenant may run the package on: this machine's Node 20, and the Node 22 the checkout runs on. */
const NODES = [
  { name: 'Node 20', path: '/usr/bin/node', major: 20 },
  { name: 'Node 22', path: process.execPath, major: 22 },
] as const;

/** The package tarball (`npm run pack:sdk`), packed once per run. */
let tarball: string | undefined;
function packed(): string {
  if (tarball) return tarball;
  const pack = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/pack-sdk.ts'], { encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  tarball = pack.stdout.trim().split('\n').pop()!;
  return tarball;
}

describe('npm start', () => {
  it('serves the API and prints a first command that works', { timeout: 150_000 }, async () => {
    const command = await printedCommand();
    assert.match(command, new RegExp(`--url ${url.replace(/\./g, '\\.')}$`));
    const args = command.replace(/^npx custodes /, '').split(/\s+/);
    const run = spawnSync(process.execPath, ['bin/custodes.js', ...args], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${command}\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /\(none\)|^ID\s+NAME/m);

    const health = await fetch(`${url}/v1/health`);
    assert.equal(health.status, 200);
    // A fresh start logs no error: nothing runs before the schema is applied (platform/middleware/schema-gate).
    assert.doesNotMatch(output, /D1_ERROR|no such (table|column)|hand-over:/, output);
    // Anonymous: the answer carries a receipt, not the provider log's name and size.
    assert.match(health.headers.get('Custodes-Audit') ?? '', /^receipt=[A-Za-z0-9_-]{166}$/);
  });

  it('a canary written through the CLI never reaches the database in the clear, and reads back exactly', { timeout: 150_000 }, async () => {
    await printedCommand(); // the server is up
    const { ownerKey, tenant, vm, keystore, owner } = provisionTenant('canary');

    const canary = `CANARY-${crypto.randomUUID()}`;
    const file = Buffer.concat([Buffer.from('header '), Buffer.from(`${canary} `.repeat(300)), Buffer.from(' trailer')]); // ~13 KB, 4 pages
    const input = join(work, 'secret.bin');
    writeFileSync(input, file);
    assert.match(custodes('mem', 'write', '--vm', vm, '--offset', '10000', '--file', input, ...owner), /Wrote \d+ bytes \(4 pages, encrypted here\)/);
    const output = join(work, 'back.bin');
    custodes('mem', 'read', '--vm', vm, '--offset', '10000', '--length', String(file.length), '--out', output, '--verify-fresh', ...owner);
    assert.deepEqual(readFileSync(output), file);

    // The data key, as only the tenant can see it: unwrapped with the keystore's KEK.
    const ownerJwk = JSON.parse(readFileSync(ownerKey, 'utf8'));
    const keys = (await (
      await fetch(`${url}/v1/tenants/${tenant}/keys`, { headers: { Authorization: `Bearer ${await mintToken({ key: ownerJwk, principal: tenant })}` } })
    ).json()) as { keys: { wrapped: string }[] };
    const { kek } = JSON.parse(readFileSync(keystore, 'utf8'));
    const dataKey = Buffer.from((await compactDecrypt(keys.keys[0]!.wrapped, await importJWK(kek, 'A256KW'))).plaintext);
    assert.equal(dataKey.length, 32);
    const kekBytes = Buffer.from(kek.k, 'base64url');

    const files = filesUnder(state);
    assert.ok(
      files.some((f) => f.endsWith('.sqlite')),
      `no D1 database under ${state}: ${files.join(', ')}`,
    );
    const needles: [string, Buffer][] = [
      ['canary', Buffer.from(canary)],
      ['canary (base64)', Buffer.from(Buffer.from(canary).toString('base64').slice(0, 24))],
      ['data key', dataKey],
      ['data key (base64)', Buffer.from(dataKey.toString('base64').slice(0, 24))],
      ['data key (base64url)', Buffer.from(dataKey.toString('base64url').slice(0, 24))],
      ['data key (hex)', Buffer.from(dataKey.toString('hex'))],
      ['KEK', kekBytes],
      ['KEK (base64url)', Buffer.from(kek.k)],
    ];
    for (const path of files) {
      const bytes = readFileSync(path);
      for (const [what, needle] of needles) assert.equal(bytes.includes(needle), false, `${what} found in ${path}`);
    }
  });

  it('the tenant CLI manages toolstacks, VMs, disks and snapshots', { timeout: 150_000 }, async () => {
    await printedCommand();
    const { tenant, vm, keystore, owner } = provisionTenant('cli');

    // A toolstack limited to memory reads and writes of this VM does the content work.
    const tskKey = join(work, 'toolstack.jwk');
    custodes('keygen', '--out', tskKey);
    const toolstack = JSON.parse(
      custodes(
        'toolstack',
        'create',
        '--name',
        'ops',
        '--public-key',
        tskKey.replace(/\.jwk$/, '.pub.jwk'),
        '--scope',
        'memory:read memory:write keys vm:read',
        '--vms',
        vm,
        '--json',
        ...owner,
      ),
    ).id;
    assert.match(custodes('toolstack', 'list', ...owner), new RegExp(`${toolstack}\\s+ops\\s+active`));
    const asToolstack = ['--tenant', tenant, '--key', tskKey, '--iss', toolstack, '--keystore', keystore];
    assert.match(custodes('vm', 'list', ...asToolstack), new RegExp(`${vm}\\s+cli-vm\\s+running`));
    const input = join(work, 'page.bin');
    writeFileSync(input, Buffer.from('written by the toolstack'));
    custodes('mem', 'write', '--vm', vm, '--offset', '4096', '--file', input, ...asToolstack);

    // The owner stops the VM, snapshots it, the toolstack overwrites, the owner restores.
    assert.match(custodes('vm', 'stop', vm, ...owner), /stopped/);
    const snapshot = JSON.parse(custodes('snapshot', 'create', '--vm', vm, '--name', 'golden', '--json', ...owner)).id;
    assert.match(custodes('snapshot', 'list', ...owner), new RegExp(`${snapshot}\\s+golden`));
    writeFileSync(input, Buffer.from('overwritten afterwards!!'));
    custodes('mem', 'write', '--vm', vm, '--offset', '4096', '--file', input, ...asToolstack);
    assert.match(custodes('snapshot', 'restore', snapshot, ...owner), /1 pages written as new versions/);
    const output = join(work, 'page-back.bin');
    custodes('mem', 'read', '--vm', vm, '--offset', '4096', '--length', '24', '--out', output, '--verify-fresh', ...owner);
    assert.equal(readFileSync(output, 'utf8'), 'written by the toolstack');

    // Disks: create, attach, write and read blocks.
    const disk = JSON.parse(custodes('disk', 'create', '--name', 'data', '--size-gib', '1', '--json', ...owner)).id;
    assert.match(custodes('disk', 'attach', disk, '--vm', vm, ...owner), new RegExp(`${disk}\\s+data\\s+1\\s+${vm}`));
    custodes('disk', 'write', '--disk', disk, '--offset', '100', '--file', input, ...owner);
    custodes('disk', 'read', '--disk', disk, '--offset', '100', '--length', '24', '--out', output, ...owner);
    assert.equal(readFileSync(output, 'utf8'), 'overwritten afterwards!!');
    assert.match(custodes('disk', 'detach', disk, ...owner), new RegExp(`${disk}\\s+data\\s+1\\s+-`));

    // Revoked, the toolstack is refused at once, with the code and a readable message.
    custodes('toolstack', 'revoke', toolstack, ...owner);
    const refused = spawnSync(process.execPath, ['bin/custodes.js', 'vm', 'list', ...asToolstack, '--url', url], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /token_key_unknown/);
  });

  it('the packed SDK seals, writes, reads and verifies from a program outside the checkout, with plain node', { timeout: 150_000 }, async () => {
    await printedCommand();
    const { tenant, vm, ownerKey } = provisionTenant('sdk');
    const tarball = packed();
    const project = mkdtempSync(join(tmpdir(), 'custodes-sdk-user-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'tenant-program', private: true, type: 'module' }));
    const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, encoding: 'utf8' });
    assert.equal(install.status, 0, install.stderr);
    writeFileSync(join(project, 'program.mjs'), SDK_PROGRAM);
    // Plain node, no tsx, no loader: only what the tarball installed.
    const run = spawnSync(process.execPath, ['program.mjs', url, tenant, vm, ownerKey], { cwd: project, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.back, 'sealed here, stored as ciphertext, read back here');
    assert.equal(result.pages, 2); // bytes 8180–8229 straddle pages 1 and 2
    assert.ok(result.records >= 3);
    rmSync(project, { recursive: true, force: true });
  });

  it("the README's custodes/testing example runs from a temporary project that installs the packed package, on Node 20 and Node 22", {
    timeout: 240_000,
  }, async () => {
    const readme = readFileSync('README.md', 'utf8');
    const example = /<!-- example: tenant-test[^>]*-->\n```js\n([\s\S]+?)```/.exec(readme)?.[1];
    assert.ok(example, 'the README has the example');
    const project = mkdtempSync(join(tmpdir(), 'custodes-testing-user-'));
    try {
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'tenant-suite', private: true, type: 'module' }));
      const miniflare = (JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.miniflare!;
      const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', packed(), `miniflare@${miniflare}`], {
        cwd: project,
        encoding: 'utf8',
      });
      assert.equal(install.status, 0, install.stderr);
      writeFileSync(join(project, 'custodes.test.mjs'), example);
      for (const node of NODES) {
        // A test run of its own, not a subtest of this one: without the runner's context variable.
        const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
        const run = spawnSync(node.path, ['--test', 'custodes.test.mjs'], { cwd: project, encoding: 'utf8', env });
        assert.equal(run.status, 0, `${node.name}: ${run.stdout}${run.stderr}`);
        assert.match(run.stdout, /# pass 1/);
        const ready = Number(/Custodes ready in (\d+) ms/.exec(run.stdout)?.[1]);
        console.log(`startCustodes from the packed package on ${node.name}: ready in ${ready} ms`);
        assert.ok(ready > 0 && ready < 5000, `startup ${ready} ms`);
      }
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it('the emulator CLI seeds the example fixture, moves the clock and shows the recorder', { timeout: 150_000 }, async () => {
    await printedCommand();
    const seeded = JSON.parse(custodes('emulator', 'seed', 'fixtures/example.yaml', '--json'));
    assert.match(seeded.tenants.acme.id, /^ten_/);
    assert.match(custodes('emulator', 'recorder', 'show', '--limit', '20'), /POST\s+201\s+\d+ ms\s+\/v1\/tenants\/ten_\w+\/toolstacks/);
    assert.match(custodes('emulator', 'clock', 'show'), /real time/);
    const har = join(work, 'session.har');
    assert.match(custodes('emulator', 'recorder', 'har', '--out', har), /Wrote \d+ entries/);
    assert.doesNotMatch(readFileSync(har, 'utf8'), /Bearer ey/);
    const bad = spawnSync(process.execPath, ['bin/custodes.js', 'emulator', 'clock', 'advance', 'soon', '--url', url], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /not a duration/);
  });

  it('a client generated by @hey-api/openapi-ts runs a tenant flow: toolstack, page write and read, log verified', { timeout: 150_000 }, async () => {
    await printedCommand();
    const { tenant, vm, ownerKey } = provisionTenant('hey');
    const dir = mkdtempSync(join(resolve('.generated'), 'flow-'));
    try {
      GENERATORS['hey-api'](dir);
      const { client } = await import(join(dir, 'client.gen.ts'));
      const sdk = await import(join(dir, 'sdk.gen.ts'));
      const owner = JSON.parse(readFileSync(ownerKey, 'utf8'));
      // The generator's auth hook runs per request: each one gets a fresh single-use token.
      const signAs = (key: object, principal: string, scope?: string[]) => client.setConfig({ baseUrl: url, auth: () => mintToken({ key, principal, scope }) });
      signAs(owner, tenant);
      const toolstackKey = await generatePrincipalKey();
      const toolstack = (
        await sdk.createToolstack({
          path: { tenant },
          body: { name: 'generated', publicKey: publicKeyOf(toolstackKey), scopes: ['memory:read', 'memory:write'] },
          throwOnError: true,
        })
      ).data;
      signAs(toolstackKey, toolstack.id, ['memory:read', 'memory:write']);
      const dataKey = await newDataKey();
      const address = { tenant, resource: vm, space: 'memory' as const, index: 3 };
      const page = crypto.getRandomValues(new Uint8Array(PAGE_BYTES));
      const envelope = Buffer.from(await encryptPage(page, address, dataKey)).toString('base64');
      const written = (await sdk.writeMemoryPages({ path: { tenant, vm }, body: { pages: [{ index: 3, envelope }] }, throwOnError: true })).data;
      const read = (await sdk.readMemoryPageVersion({ path: { tenant, vm, index: 3, version: written.pages[0].version }, throwOnError: true })).data;
      assert.deepEqual(await decryptPage(new Uint8Array(Buffer.from(read.envelope, 'base64')), address, dataKey), page);
      signAs(owner, tenant);
      const log = `tenants/${tenant}`;
      const text = async (call: Promise<{ data: unknown }>) => String((await call).data);
      const verified = await verifyAuditLog(
        {
          logKey: () => text(sdk.getAuditLogKey({ throwOnError: true })),
          jwks: async () => (await sdk.getRecordSigningKeys({ throwOnError: true })).data,
          checkpoint: () => text(sdk.getTenantAuditCheckpoint({ path: { tenant }, throwOnError: true })),
          records: async (from: number, limit: number) =>
            (await sdk.listTenantAuditRecords({ path: { tenant }, query: { from, limit }, throwOnError: true })).data,
        },
        { log },
      );
      assert.ok(verified.ok, verified.ok ? '' : verified.error);
      assert.ok(verified.checkpoint.size >= 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the admin CLI needs a second admin for significant changes, and the tenant CLI decides access requests', { timeout: 150_000 }, async () => {
    await printedCommand();
    const { tenant, vm, owner } = provisionTenant('governance');
    const second = ['--key', '.custodes/admin-2.jwk'];
    const fails = (...args: string[]) => spawnSync(process.execPath, ['bin/custodes.js', ...args, '--url', url], { encoding: 'utf8' });

    // An admin registered by one enrolled admin and approved by the other.
    const opsKey = join(work, 'ops-admin.jwk');
    custodes('keygen', '--out', opsKey);
    const registration = custodes('admin', 'admins', 'register', '--name', 'ops', '--public-key', opsKey.replace(/\.jwk$/, '.pub.jwk'), '--roles', 'operator');
    const [, changeId] = /custodes admin changes approve (chg_\w+)/.exec(registration) ?? [];
    assert.ok(changeId, registration);
    const self = fails('admin', 'changes', 'approve', changeId!);
    assert.equal(self.status, 1);
    assert.match(self.stderr, /self_approval/);
    assert.match(custodes('admin', 'changes', 'approve', changeId!, ...second), /Approved and executed/);
    const opsId = JSON.parse(custodes('admin', 'changes', 'show', changeId!, '--json')).target.id as string;
    assert.match(custodes('admin', 'admins', 'list'), new RegExp(`${opsId}\\s+ops\\s+operator\\s+active`));
    const asOps = ['--key', opsKey, '--iss', opsId];

    // The next audit key, approved by two security admins before it may sign.
    const nextAuditKey = join(work, 'next-audit.jwk');
    custodes('keygen', '--out', nextAuditKey);
    const rotation = JSON.parse(custodes('admin', 'audit-key', 'propose', '--public-key', nextAuditKey.replace(/\.jwk$/, '.pub.jwk'), '--json'));
    assert.equal(rotation.operation, 'audit.rotate');
    assert.match(custodes('admin', 'changes', 'approve', rotation.id, ...second), /Approved and executed/);

    // A VM deletion waits for approval; the tenant sees it in its own log.
    const deletion = JSON.parse(custodes('admin', 'vms', 'delete', vm, '--json'));
    assert.equal(deletion.state, 'pending');
    assert.match(custodes('admin', 'changes', 'list', '--state', 'pending', '--tenant', tenant), new RegExp(deletion.id));
    assert.match(custodes('admin', 'changes', 'deny', deletion.id, ...second), /denied; it will never execute/);
    assert.match(custodes('audit', 'tail', '--tenant', tenant, '--key', owner[3]!, '--action', 'change.deny'), /change\.deny/);

    // The lockbox: the operator asks, the tenant approves, the operator snapshots ciphertext.
    const request = JSON.parse(
      custodes('admin', 'access', 'request', '--vm', vm, '--reason-code', 'customer_support', '--detail', 'case 4711', '--json', ...asOps),
    );
    assert.match(custodes('access', 'list', ...owner), new RegExp(`${request.id}.+customer_support: case 4711.+pending`));
    const early = fails('admin', 'access', 'use', request.id, '--name', 'support-1', ...asOps);
    assert.match(early.stderr, /access_not_approved/);
    assert.match(custodes('access', 'approve', request.id, ...owner), /Approved/);
    assert.match(custodes('admin', 'access', 'use', request.id, '--name', 'support-1', ...asOps), /ciphertext pages, by reference/);

    // Lists page: one page says where the next starts; --all follows every page, the same items as one big page.
    const first = JSON.parse(custodes('admin', 'changes', 'list', '--page-size', '1', '--json'));
    assert.equal(first.changes.length, 1);
    assert.ok(first.nextPageToken);
    assert.match(custodes('admin', 'changes', 'list', '--page-size', '1'), /\(more: --page-token \S+, or --all\)/);
    const everyPage = JSON.parse(custodes('admin', 'changes', 'list', '--page-size', '1', '--all', '--json'));
    const onePage = JSON.parse(custodes('admin', 'changes', 'list', '--page-size', '100', '--json'));
    assert.ok(everyPage.changes.length >= 3);
    assert.equal(everyPage.nextPageToken, undefined);
    assert.deepEqual(
      everyPage.changes.map((c: { id: string }) => c.id),
      onePage.changes.map((c: { id: string }) => c.id),
    );
  });

  it('/docs renders the operation list in headless Chromium with the network blocked', { timeout: 150_000 }, async () => {
    await printedCommand();
    const browser = await launchBrowser();
    try {
      const { page, blocked, sent } = await offlinePage(browser);
      // The page lives under a strict CSP (no inline script): nothing it needs may be refused by it.
      const violations: string[] = [];
      page.on('console', (message) => void (/Content Security Policy/i.test(message.text()) && violations.push(message.text())));
      const docs = await page.goto(`${url}/docs`, { waitUntil: 'load' });
      assert.match(docs!.headers()['content-security-policy'] ?? '', /script-src 'self';.*frame-ancestors 'none'/);
      // The sidebar lists every tag of the spec; opening one shows its operations by summary.
      await waitForText(page, ['access requests'], 60_000);
      const text = await pageText(page);
      for (const tag of ['hosts', 'tenants', 'toolstacks', 'memory', 'recovery', 'changes', 'audit']) assert.match(text, new RegExp(`^${tag}$`, 'm'));
      const icon = await fetch(`${url}/favicon.ico`);
      assert.equal(icon.status, 200, 'a favicon, not a 404 in every browser console');
      assert.match(icon.headers.get('Content-Type') ?? '', /icon/);
      // Nothing offers to send the spec or the page elsewhere: no AI agent, no developer toolbar (share, deploy, upload).
      assert.doesNotMatch(text, /Ask AI|Developer Tools|Upload document|Deploy on Scalar/i);
      await clickText(page, 'hosts');
      await waitForText(page, ['Register a host', 'List hosts', 'Drain a host']);
      await page.screenshot({ path: resolve('.generated/docs-offline.png') });
      assert.deepEqual(blocked, [], 'the page tried to reach the network');
      assert.deepEqual(violations, [], 'the CSP refused something the page needs');
      assert.ok(
        sent.some((r) => r.url.endsWith('/vendor/scalar/api-reference.js')),
        'the bundle came from the Worker',
      );
    } finally {
      await browser.close();
    }
  });
});

describe('the README', () => {
  it('its five-minute tour runs as written, in order, from a directory of its own: every command exits as the README says', { timeout: 240_000 }, async () => {
    await printedCommand();
    // The tour is written for a fresh start: the tests before it made hosts of their own (the emulator keeps its admins).
    custodes('emulator', 'reset');
    const home = mkdtempSync(join(tmpdir(), 'custodes-tour-'));
    try {
      // What npm start left in the checkout's .custodes/: the bootstrap keys, and the enrolled admins' keys and ids.
      mkdirSync(join(home, '.custodes'));
      for (const file of ['bootstrap-admin.jwk', 'bootstrap-admin-2.jwk', 'admin.jwk', 'admin-2.jwk', 'admins.json'])
        writeFileSync(join(home, '.custodes', file), readFileSync(join('.custodes', file)));
      const seen = new Map<string, string>(); // the last id printed, by prefix: what a reader copies into `ten_...`
      const printed: string[] = [];
      const commands = tourCommands();
      assert.ok(commands.length >= 15, `only ${commands.length} commands`);
      for (const { line, exit } of commands) {
        const words = shellWords(line).map((word) =>
          word.replace(/^(ten|vm|hst|chg|acc)_(?:\.\.\.|…)$/, (placeholder, prefix: string) => seen.get(prefix) ?? placeholder),
        );
        const run =
          words[0] === 'npx' && words[1] === 'custodes'
            ? spawnSync(process.execPath, [resolve('bin/custodes.js'), ...words.slice(2), '--url', url], { cwd: home, encoding: 'utf8' })
            : spawnSync('bash', ['-c', line], { cwd: home, encoding: 'utf8' });
        assert.equal(run.status, exit, `${line}\n${run.stdout}${run.stderr}`);
        printed.push(`${line}\n${run.stdout}${run.stderr}`);
        for (const match of `${run.stdout}`.matchAll(/\b(ten|vm|hst|chg|acc)_[0-9A-Z]{26}\b/g)) seen.set(match[1]!, match[0]);
      }
      // What the tour shows: the secret came back, the admin's attempt was refused and is in the tenant's log, two admins deleted the VM.
      const printedAfter = (command: RegExp) => printed.find((p) => command.test(p.split('\n')[0]!)) ?? '';
      assert.match(printedAfter(/mem read .*--verify-fresh/), /the database password/);
      assert.match(printedAfter(/mem read .*--key .custodes\/admin.jwk/), /not_found|missing|refused|denied/i);
      assert.match(printedAfter(/audit tail/), /adm_\w+.*vm\.memory\.read.*denied|denied.*vm\.memory\.read/);
      assert.match(printedAfter(/hosts list --key .custodes\/bootstrap-admin/), /bootstrap_retired/);
      assert.match(printedAfter(/changes approve/), /Approved and executed/);
      assert.ok(existsSync(join(home, '.custodes/acme-owner.pub.jwk')), 'the keys are under .custodes/');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('the installed package', () => {
  it('type-checks under NodeNext with skipLibCheck off, and runs the custodes CLI from an empty project on Node 20 and Node 22, with neither the checkout nor tsx: --version, and audit verify against a running instance', {
    timeout: 240_000,
  }, async () => {
    await printedCommand();
    const { tenant, ownerKey } = provisionTenant('package-cli');
    const project = mkdtempSync(join(tmpdir(), 'custodes-cli-user-'));
    try {
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'tenant-tools', private: true, type: 'module' }));
      const types = (JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node']!;
      const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', packed(), `@types/node@${types}`], {
        cwd: project,
        encoding: 'utf8',
      });
      assert.equal(install.status, 0, install.stderr);
      // The declarations, type-checked as a strict NodeNext project would, library files included.
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          include: ['uses.ts'],
        }),
      );
      writeFileSync(
        join(project, 'uses.ts'),
        "import { createApiClient, GuestContents, verifyAuditLog } from 'custodes/sdk';\nimport { startCustodes } from 'custodes/testing';\nexport { createApiClient, GuestContents, verifyAuditLog, startCustodes };\n",
      );
      const typecheck = spawnSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, encoding: 'utf8' });
      assert.equal(typecheck.status, 0, `the declarations fail a NodeNext check:\n${typecheck.stdout}${typecheck.stderr}`);
      const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
      for (const node of NODES) {
        // `npx` runs the bin through `#!/usr/bin/env node`: the first node on PATH is the one under test.
        const env = { ...process.env, PATH: `${dirname(node.path)}:${process.env.PATH}` };
        const run = (...argv: string[]) => spawnSync('npx', ['--no-install', 'custodes', ...argv], { cwd: project, encoding: 'utf8', env });
        assert.match(spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout, new RegExp(`^v${node.major}\\.`), `${node.name} is first on PATH`);
        const shown = run('--version');
        assert.equal(shown.status, 0, `${node.name}: ${shown.stderr}`);
        assert.equal(shown.stdout.trim(), version);
        const verified = run(
          'audit',
          'verify',
          '--url',
          url,
          '--tenant',
          tenant,
          '--key',
          ownerKey,
          '--trust-on-first-use',
          '--state',
          join(project, `state-${node.major}.json`),
        );
        assert.equal(verified.status, 0, `${node.name}: ${verified.stdout}${verified.stderr}`);
        assert.match(verified.stdout, /OK/);
      }
      assert.ok(!existsSync(join(project, 'node_modules/tsx')), 'tsx is not installed with the package');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});

describe('npm start, restarted', () => {
  it('finds its data and its keys again: the tenant reads its page back and its log verifies against the state saved before; controls are cleared unless kept, and the banner says which are', {
    timeout: 240_000,
  }, async () => {
    await printedCommand();
    const { tenant, vm, owner } = provisionTenant('restart');
    const input = join(work, 'restart.bin');
    writeFileSync(input, 'kept across a restart');
    custodes('mem', 'write', '--vm', vm, '--file', input, ...owner);
    const stateFile = join(work, 'restart-audit-state.json');
    custodes('audit', 'verify', '--tenant', tenant, '--key', owner[3]!, '--trust-on-first-use', '--state', stateFile);
    custodes('emulator', 'clock', 'advance', '1h');

    const stop = async () => {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      process.kill(-server.pid!, 'SIGTERM');
      await exited;
    };
    await stop();
    server = startServer({ CUSTODES_KEEP_CONTROLS: '1' });
    await printedCommand();
    assert.match(output, /Kept from the last run \(CUSTODES_KEEP_CONTROLS=1\): the clock is 3600 s ahead/);
    const out = join(work, 'restart-back.bin');
    custodes('mem', 'read', '--vm', vm, '--length', '21', '--out', out, '--verify-fresh', ...owner);
    assert.equal(readFileSync(out, 'utf8'), 'kept across a restart');
    assert.match(custodes('audit', 'verify', '--tenant', tenant, '--key', owner[3]!, '--state', stateFile), /OK/);

    await stop();
    server = startServer();
    await printedCommand();
    assert.doesNotMatch(output, /Kept from the last run/);
    const info = (await (await fetch(`${url}/v1/info`)).json()) as { emulator: { clock: { offsetMs: number } } };
    assert.equal(info.emulator.clock.offsetMs, 0, 'a plain restart starts on real time');
  });
});
