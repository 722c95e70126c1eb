/**
 * `npm run demo`: the whole story of Custodes against a fresh local instance,
 * through the `custodes` CLI a tenant and an admin would use. Each step says
 * what happens and checks it; any surprise stops the demo with exit code 1.
 *
 *  1. An admin provisions a host, a tenant (which brings its own key) and a VM.
 *  2. The tenant writes encrypted memory, a secret among it, and labels the secret.
 *  3. A rogue admin tries to read that memory: refused, and the attempt is in the tenant's log.
 *  4. A stolen toolstack key reads the secret, overwrites other pages, and makes
 *     itself persistent: it registers a second toolstack of its own, which reads
 *     the secret again in a session of its own.
 *  5. The tenant keeps working: a legitimate write after the attack.
 *  6. The tenant verifies its log offline and sees the secret was exposed, and by whom.
 *  7. It revokes the stolen toolstack and applies an undo of everything it did:
 *     the overwritten pages roll back and the persistence toolstack is revoked
 *     too (whatever a principal the attacker created did is the attacker's).
 *  8. It reads back exactly its legitimate data, checked against its verified log.
 *  9. It rotates the exposed label's data key: the current contents read back,
 *     and the versions the attacker read can no longer be opened at all.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the demo's own server listens (a free port it picks; DEMO_PORT to choose one). */
let url = '';
const work = mkdtempSync(join(tmpdir(), 'custodes-demo-'));
const state = join(work, 'd1');
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

const server = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/start.ts'], {
  env: { ...process.env, CUSTODES_PORT: process.env.DEMO_PORT ?? '0', CUSTODES_STATE: state },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true, // its own process group: wrangler and workerd stop with it
});
let serverOutput = '';
server.stdout!.on('data', (chunk) => (serverOutput += chunk));
server.stderr!.on('data', (chunk) => (serverOutput += chunk));

function stop(): void {
  try {
    process.kill(-server.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(work, { recursive: true, force: true });
}

function step(title: string): void {
  console.log(`\n${bold(`▶ ${title}`)}`);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`demo check failed: ${what}`);
  console.log(`  ✔ ${what}`);
}

/** Runs the CLI, shows the command and what it printed (indented); answers stdout, or the failure when `expectFailure`. */
function custodes(args: string[], { show = true, expectFailure = false } = {}): string {
  const run = spawnSync(process.execPath, ['bin/custodes.js', ...args, '--url', url], { encoding: 'utf8' });
  const printable = args.map((a) => (a.startsWith(work) ? a.slice(work.length + 1) : a)).join(' ');
  if (show) console.log(`  $ custodes ${printable}`);
  const out = `${run.stdout}${run.stderr}`;
  if (show && out.trim()) console.log(out.trimEnd().replace(/^/gm, '    '));
  if (expectFailure ? run.status === 0 : run.status !== 0)
    throw new Error(`custodes ${printable} ${expectFailure ? 'succeeded' : `exited ${run.status}`}:\n${out}`);
  return expectFailure ? out : run.stdout;
}

async function serverReady(): Promise<void> {
  for (let i = 0; i < 900; i++) {
    const serving = /Try a first authenticated call/.test(serverOutput) && /Custodes is serving on (http:\/\/\S+)/.exec(serverOutput);
    if (serving) {
      url = serving[1]!;
      return;
    }
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the local instance did not start:\n${serverOutput}`);
}

async function story(): Promise<void> {
  step('Starting a fresh local Custodes (its own empty D1, a port of its own)');
  await serverReady();
  check(true, `serving on ${url}`);

  step("1. The provider's admin provisions a host, a tenant and a VM — the tenant supplies only its public key");
  // The enrolled admin npm start made (its id is in .custodes/admins.json, which the CLI reads).
  const admin = ['--key', '.custodes/admin.jwk'];
  const adminId = (JSON.parse(readFileSync('.custodes/admins.json', 'utf8')) as { admin: string }).admin;
  const file = (name: string) => join(work, name);
  custodes(['keygen', '--out', file('owner.jwk')], { show: false });
  custodes(['admin', 'hosts', 'create', '--name', 'rack-1', '--vcpus', '16', '--memory-mib', '16384', '--disk-gib', '200', ...admin]);
  const tenant = JSON.parse(
    custodes(
      [
        'admin',
        'tenants',
        'create',
        '--name',
        'acme',
        '--owner-key',
        file('owner.pub.jwk'),
        '--vcpus',
        '4',
        '--memory-mib',
        '4096',
        '--disk-gib',
        '20',
        '--json',
        ...admin,
      ],
      { show: false },
    ),
  ).id as string;
  console.log(`    tenant ${tenant} (acme)`);
  const vm = JSON.parse(
    custodes(['admin', 'vms', 'create', '--tenant', tenant, '--name', 'web-1', '--vcpus', '1', '--memory-mib', '128', '--json', ...admin], { show: false }),
  ).id as string;
  console.log(`    VM ${vm} (web-1, 128 MiB)`);

  step('2. The tenant writes encrypted memory — a TLS key among it — through its own toolstacks');
  const keystore = file('keystore.json');
  custodes(['key', 'init', '--keystore', keystore]);
  const owner = ['--tenant', tenant, '--key', file('owner.jwk'), '--keystore', keystore];
  const toolstack = (name: string, scope: string, as = owner) => {
    custodes(['keygen', '--out', file(`${name}.jwk`)], { show: false });
    const id = JSON.parse(
      custodes(['toolstack', 'create', '--name', name, '--public-key', file(`${name}.pub.jwk`), '--scope', scope, '--json', ...as], { show: false }),
    ).id as string;
    console.log(`    toolstack ${name}: ${id} (${scope})`);
    return { id, as: ['--tenant', tenant, '--key', file(`${name}.jwk`), '--iss', id, '--keystore', keystore] };
  };
  const ops = toolstack('ops', 'memory:read memory:write keys');
  // CI registers short-lived toolstacks for its jobs, so it may manage toolstacks within its own ceiling.
  const ci = toolstack('ci', 'memory:read memory:write keys toolstacks');
  const secret = Buffer.from('-----BEGIN PRIVATE KEY----- acme-demo-tls-key -----END PRIVATE KEY-----');
  const appData = Buffer.from('orders: 1041, 1042, 1043 (the application state the tenant must not lose)'.padEnd(6000, '.'));
  writeFileSync(file('secret.pem'), secret);
  writeFileSync(file('app.bin'), appData);
  custodes(['mem', 'write', '--vm', vm, '--offset', '0', '--file', file('secret.pem'), ...ops.as]);
  custodes(['mem', 'write', '--vm', vm, '--offset', '8192', '--file', file('app.bin'), ...ops.as]);
  custodes(['label', 'set', 'tls-key', '--vm', vm, '--start', '0', '--count', '1', ...owner]);
  custodes(['label', 'set', 'app-state', '--vm', vm, '--start', '2', '--count', '2', ...owner]);

  step("3. A rogue admin tries to read the guest's memory — there is no admin route to contents");
  const denied = await fetch(`${url}/v1/tenants/${tenant}/vms/${vm}/memory/pages?start=0&count=1`, {
    headers: { Authorization: `Bearer ${custodes(['token', '--key', '.custodes/admin.jwk'], { show: false }).trim()}` },
  });
  console.log(`  GET …/memory/pages as ${adminId} → ${denied.status} ${((await denied.json()) as { code: string }).code}`);
  check(denied.status === 403 || denied.status === 404, 'the admin is refused');
  const tail = custodes(['audit', 'tail', '--tenant', tenant, '--key', file('owner.jwk'), '--actor', adminId, '--action', 'vm.memory.read']);
  check(/denied/.test(tail), "the attempt is a signed record in the tenant's own log");

  step('4. An attacker with the stolen "ci" toolstack key reads the TLS key and overwrites the application state');
  custodes(['mem', 'read', '--vm', vm, '--offset', '0', '--length', String(secret.length), '--out', file('stolen.pem'), ...ci.as]);
  check(readFileSync(file('stolen.pem')).equals(secret), 'the attacker has the secret (it held the keystore too)');
  writeFileSync(file('garbage.bin'), Buffer.alloc(6000, 0x58));
  custodes(['mem', 'write', '--vm', vm, '--offset', '8192', '--file', file('garbage.bin'), ...ci.as]);
  console.log("  Then it makes itself persistent: a toolstack of its own, named to look like CI's cache.");
  const backdoor = toolstack('ci-cache', 'memory:read keys', ci.as);
  custodes(['mem', 'read', '--vm', vm, '--offset', '0', '--length', String(secret.length), '--out', file('stolen-again.pem'), ...backdoor.as]);
  check(readFileSync(file('stolen-again.pem')).equals(secret), 'the persistence toolstack reads the secret too, in a session of its own');

  step('5. Meanwhile the tenant keeps working: a legitimate write after the attack');
  const later = Buffer.from('session cache written after the attack: must survive recovery');
  writeFileSync(file('later.bin'), later);
  custodes(['mem', 'write', '--vm', vm, '--offset', '16384', '--file', file('later.bin'), ...ops.as]);

  step('6. The tenant investigates: it verifies its log offline, then asks what was exposed');
  const verified = custodes(['audit', 'verify', '--tenant', tenant, '--key', file('owner.jwk'), '--state', file('audit-state.json'), '--trust-on-first-use']);
  check(/verified|OK|ok/i.test(verified), "every record's signature, the Merkle root and the signed checkpoint check out");
  const exposure = JSON.parse(custodes(['exposure', ...owner, '--json'], { show: false }));
  custodes(['exposure', ...owner]);
  const tls = exposure.labels.find((l: { name: string }) => l.name === 'tls-key');
  const readers = tls.reads.map((r: { actor: { id: string } }) => r.actor.id);
  check(tls.exposed && readers.includes(ci.id) && readers.includes(backdoor.id), `tls-key shows as exposed, read by ${ci.id} and by ${backdoor.id}: rotate it`);
  const stolenVersion = tls.reads.find((r: { actor: { id: string } }) => r.actor.id === ci.id).pages[0].version as number;

  step('7. It revokes the stolen toolstack, plans an undo of everything it did, and applies it');
  custodes(['toolstack', 'revoke', ci.id, ...owner]);
  const plan = JSON.parse(custodes(['recover', 'plan', '--mode', 'undo', '--actor', ci.id, ...owner, '--json'], { show: false }));
  custodes(['recover', 'show', plan.id, ...owner]);
  const disclosures = plan.disclosures as { actor: { id: string }; pages: { index: number }[] }[];
  check(
    disclosures.some((d) => d.actor.id === ci.id && d.pages.some((p) => p.index === 0)) && disclosures.some((d) => d.actor.id === backdoor.id),
    "both reads of the key are disclosures — the stolen key's and the persistence toolstack's: they cannot be undone, the key must be rotated",
  );
  check(plan.changes.length === 2, 'the two overwritten pages of application state roll back; the later legitimate page is not touched');
  const revokes = (plan.objectChanges as { kind: string; key: string[]; to: { state?: string } | null }[]).filter(
    (o) => o.kind === 'toolstack' && o.key[0] === backdoor.id,
  );
  check(
    revokes.length === 1 && revokes[0]!.to?.state === 'revoked',
    `the persistence toolstack ${backdoor.id} is revoked by the undo, though no seed named it`,
  );
  custodes(['recover', 'apply', plan.id, ...owner]);

  step('8. The tenant reads back its data, each page checked against the latest write in its verified log');
  custodes(['mem', 'read', '--vm', vm, '--offset', '8192', '--length', String(appData.length), '--out', file('app.back'), '--verify-fresh', ...owner]);
  check(readFileSync(file('app.back')).equals(appData), 'the application state is back, byte for byte');
  custodes(['mem', 'read', '--vm', vm, '--offset', '16384', '--length', String(later.length), '--out', file('later.back'), '--verify-fresh', ...owner]);
  check(readFileSync(file('later.back')).equals(later), 'the legitimate write made after the attack survived');
  const refused = custodes(['mem', 'read', '--vm', vm, '--offset', '0', '--length', '16', ...ci.as], { expectFailure: true, show: false });
  check(/token_key_unknown|revoked|401/.test(refused), 'the stolen key is refused from now on');
  const refusedBackdoor = custodes(['mem', 'read', '--vm', vm, '--offset', '0', '--length', '16', ...backdoor.as], { expectFailure: true, show: false });
  check(/token_key_unknown|revoked|401/.test(refusedBackdoor), "and so is the persistence toolstack's");
  custodes(['toolstack', 'list', ...owner]);

  step('9. The key was read, so the tenant rotates it: new data key, old one crypto-shredded');
  custodes(['mem', 'read-version', '--vm', vm, '--index', '0', '--at', String(stolenVersion), '--out', file('seen.pem'), ...owner]);
  check(
    readFileSync(file('seen.pem')).subarray(0, secret.length).equals(secret),
    `version ${stolenVersion} of page 0, the one the attacker read, still opens before the rotation`,
  );
  custodes(['recover', 'rotate', '--label', 'tls-key', ...owner]);
  custodes(['mem', 'read', '--vm', vm, '--offset', '0', '--length', String(secret.length), '--out', file('secret.back'), '--verify-fresh', ...owner]);
  check(readFileSync(file('secret.back')).equals(secret), 'the current contents read back exactly, re-sealed under the new key');
  custodes(['mem', 'read', '--vm', vm, '--offset', '8192', '--length', String(appData.length), '--out', file('app.back2'), ...owner], { show: false });
  check(readFileSync(file('app.back2')).equals(appData), 'so does the application state');
  const shredded = custodes(['mem', 'read-version', '--vm', vm, '--index', '0', '--at', String(stolenVersion), ...owner], { expectFailure: true });
  check(/not stored with the provider/.test(shredded), `version ${stolenVersion} no longer opens with anything the provider holds: its wrapped key is gone`);
  const rotated = JSON.parse(custodes(['exposure', '--label', 'tls-key', ...owner, '--json'], { show: false })).labels[0];
  check(
    rotated.reads.filter((r: { actor: { id: string } }) => [ci.id, backdoor.id].includes(r.actor.id)).every((r: { rotatedAt: string | null }) => r.rotatedAt),
    'the exposure report shows both disclosures as rotated',
  );
  custodes(['audit', 'verify', '--tenant', tenant, '--key', file('owner.jwk'), '--state', file('audit-state.json')]);
  check(true, 'the log, recovery and rotation included, still verifies and extends the checkpoint saved before');
}

try {
  await story();
  console.log(`\n${bold('Demo complete.')}`);
  stop();
} catch (error) {
  console.error(`\n${(error as Error).message}`);
  stop();
  process.exitCode = 1;
}
