/**
 * Witnesses (issue 17; C2SP tlog-witness and tlog-cosignature): the
 * protocol's answers, a provider's split view caught, a witness that is down
 * delaying cosigning but never an append, and `custodes audit verify
 * --witness … --quorum 2` against two witnesses run by the CLI.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildWorker } from '../../scripts/build-worker';
import { consistencyProof, leafHash, rootOf, type Hash } from '../../src/audit/format/merkle';
import { cosignerKeyId, cosignerVkey, parseCosignerVkey } from '../../src/audit/format/cosignature';
import { signCheckpoint } from '../../src/audit/format/checkpoint';
import { signRecord, type AuditRecord } from '../../src/audit/format/record';
import { auditSigningKey, type AuditSigningKey } from '../../src/audit/signing/signing-key';
import { main, type Io } from '../../src/cli/main';
import { auditSource, cosignersOf, generatePrincipalKey, verifyAuditLog, type AuditSource } from '../../src/sdk/index';
import { startCustodes } from '../../src/testing/index';
import { FileWitnessStore, MemoryWitnessStore, type WitnessStore } from '../../src/witness/store';
import { serveWitness } from '../../src/witness/server';
import { Witness } from '../../src/witness/witness';
import { createHash } from 'node:crypto';

const LOG = 'tenants/ten_witnessed';
const b64 = (h: Uint8Array) => Buffer.from(h).toString('base64');

let logKey: AuditSigningKey;
let tmp: string;
before(async () => {
  await buildWorker();
  logKey = await auditSigningKey(JSON.stringify(await generatePrincipalKey()));
  tmp = mkdtempSync(join(tmpdir(), 'custodes-witness-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const newWitness = async (name: string, store: WitnessStore = new MemoryWitnessStore()) =>
  new Witness({ name, privateJwk: (await generatePrincipalKey()) as never, logs: { origins: ['custodes/tenants/*'], keys: [logKey.vkey] }, store });

/** A log as a provider holding the log key can make it: `tags` name each record, so two lists sharing a prefix are a fork. */
async function history(tags: string[]) {
  const jws: string[] = [];
  const leaves: Hash[] = [];
  for (const [index, tag] of tags.entries()) {
    const record: AuditRecord = {
      v: 1,
      log: LOG,
      index,
      time: new Date(1_800_000_000_000 + index).toISOString(),
      requestId: `req_${tag}`,
      actor: { type: 'admin', id: 'adm_x', kid: null, jti: null, ip: null },
      action: 'vm.create',
      target: { type: 'vm', id: `vm_${tag}` },
      outcome: 'allowed',
      reason: null,
      request: { method: 'POST', path: '/v1/x' },
    };
    const signed = await signRecord(record, logKey);
    jws.push(signed.jws);
    leaves.push(leafHash(signed.payload));
  }
  const nodes = (level: number, index: number) => rootOf(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
  const checkpoint = (size = leaves.length) => signCheckpoint(LOG, size, rootOf(leaves.slice(0, size)), logKey);
  const proof = (from: number, to = leaves.length) => consistencyProof(from, to, nodes);
  const request = async (old: number, size = leaves.length) =>
    `old ${old}\n${(old > 0 && old < size ? proof(old, size) : []).map((h) => `${b64(h)}\n`).join('')}\n${await checkpoint(size)}`;
  const source = (cosigned: string): AuditSource => ({
    logKey: async () => logKey.vkey,
    jwks: async () => ({ keys: [logKey.publicJwk as never] }),
    checkpoint: async () => checkpoint(),
    cosignedCheckpoint: async () => cosigned,
    records: async (from, limit) => ({ records: jws.slice(from, from + limit).map((j, i) => ({ index: from + i, jws: j })) }),
  });
  return { jws, leaves, checkpoint, proof, request, source };
}

describe('witness protocol (C2SP tlog-witness)', () => {
  it('cosigns a checkpoint extending the last one it cosigned, and answers every refusal as the spec says', async () => {
    const witness = await newWitness('witness.test/w1');
    const log = await history(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    // The key id is the spec's: SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4].
    const key = parseCosignerVkey(witness.vkey);
    assert.deepEqual(
      [...key.keyId],
      [...createHash('sha256').update('witness.test/w1\n').update(Uint8Array.of(4)).update(key.publicKey).digest().subarray(0, 4)],
    );
    assert.equal(cosignerVkey(key.name, key.publicKey), witness.vkey);
    assert.deepEqual(cosignerKeyId(key.name, key.publicKey), key.keyId);

    const first = await witness.addCheckpoint(await log.request(0, 4));
    assert.equal(first.status, 200);
    assert.match(first.body, /^\u2014 witness\.test\/w1 [A-Za-z0-9+/=]+\n$/);
    assert.deepEqual(cosignersOf(`${await log.checkpoint(4)}${first.body}`, [key]), ['witness.test/w1']);
    assert.deepEqual(cosignersOf(`${await log.checkpoint(5)}${first.body}`, [key]), [], 'a cosignature covers its own checkpoint only');

    const stale = await witness.addCheckpoint(await log.request(0));
    assert.deepEqual([stale.status, stale.contentType, stale.body], [409, 'text/x.tlog.size', '4\n']);
    assert.equal((await witness.addCheckpoint(await log.request(4))).status, 200);
    assert.equal((await witness.addCheckpoint(await log.request(7))).status, 200, 'the same size and root again: cosigned again');
    assert.equal((await witness.addCheckpoint(`old 9\n\n${await log.checkpoint()}`)).status, 400);
    assert.equal((await witness.addCheckpoint('old x\n\n')).status, 400);
    const other = await history(['z']);
    assert.equal(
      (await witness.addCheckpoint(`old 0\n\n${(await other.checkpoint()).replace(LOG, 'someone/else')}`)).status,
      404,
      'an origin it does not follow',
    );
    const foreign = await auditSigningKey(JSON.stringify(await generatePrincipalKey()));
    assert.equal(
      (await witness.addCheckpoint(`old 7\n\n${await signCheckpoint(LOG, 7, rootOf(log.leaves), foreign)}`)).status,
      403,
      'signed by a key it does not trust',
    );
  });

  it('catches a split view: the witness refuses the second history, and a verifier demanding its cosignature refuses it too', async () => {
    const stateFile = join(tmp, 'split-state.json');
    let witness = await newWitness('witness.test/w2', new FileWitnessStore(stateFile));
    const key = parseCosignerVkey(witness.vkey);
    const shared = Array.from({ length: 8 }, (_, i) => `s${i}`);
    const shown = await history([...shared, 'a8', 'a9', 'a10', 'a11']); // what the provider shows the witness and the tenant's owner
    const hidden = await history([...shared, 'b8', 'b9', 'b10', 'b11']); // what it shows the tenant's auditor: the same origin, signed by the same log key
    assert.equal((await witness.addCheckpoint(await shown.request(0, 8))).status, 200);
    const cosigned = await witness.addCheckpoint(await shown.request(8));
    assert.equal(cosigned.status, 200);

    // The witness, even restarted, will not cosign the other branch: same size, other root; or no consistency proof from what it saw.
    witness = new Witness({
      name: 'witness.test/w2',
      privateJwk: (witness as unknown as { options: { privateJwk: never } }).options.privateJwk,
      logs: { origins: ['custodes/*'], keys: [logKey.vkey] },
      store: new FileWitnessStore(stateFile),
    });
    const sameSize = await witness.addCheckpoint(await hidden.request(12));
    assert.equal(sameSize.status, 409);
    assert.match(sameSize.body, /forked/);
    const claimedOld = await witness.addCheckpoint(await hidden.request(8));
    assert.deepEqual([claimedOld.status, claimedOld.body], [409, '12\n']);
    const grown = await history([...shared, 'b8', 'b9', 'b10', 'b11', 'b12']);
    assert.equal((await witness.addCheckpoint(await grown.request(12))).status, 422, 'no consistency proof links the branch to what the witness cosigned');

    // Readers: each branch verifies on its own (the log key signs both), so without witnesses the fork is invisible.
    const shownNote = `${await shown.checkpoint()}${cosigned.body}`;
    assert.ok((await verifyAuditLog(hidden.source(await hidden.checkpoint()), { log: LOG })).ok);
    const owner = await verifyAuditLog(shown.source(shownNote), { log: LOG, witnesses: [witness.vkey], quorum: 1 });
    assert.ok(owner.ok, owner.ok ? '' : owner.error);
    assert.deepEqual(owner.cosignedBy, [key.name]);
    // The auditor demanding the witness's cosignature refuses the hidden branch, even with the shown one's cosignature pasted on.
    for (const note of [await hidden.checkpoint(), `${await hidden.checkpoint()}${cosigned.body}`]) {
      const auditor = await verifyAuditLog(hidden.source(note), { log: LOG, witnesses: [witness.vkey], quorum: 1 });
      assert.equal(auditor.ok, false);
      assert.match(auditor.ok ? '' : auditor.error, /cosigned by 0 of the 1 witnesses given \(none\); 1 required/);
    }
  });
});

interface Running {
  child: ChildProcess;
  url: string;
  vkey: string;
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (text) => (out += typeof text === 'string' ? text : new TextDecoder().decode(text)), err: (text) => (err += text) };
  return { code: await main(argv, io), out, err };
}

/** `custodes witness serve` in its own process, as a tenant or a third party runs it. */
async function runWitness(name: string, logVkey: string, port = 0): Promise<Running> {
  const keyFile = join(tmp, `${name.replace(/\W/g, '_')}.json`);
  const init = await cli(['witness', 'init', '--witness-key', keyFile, '--name', name, '--force', '--json']);
  assert.equal(init.code, 0, init.err);
  const child = spawn(
    process.execPath,
    ['bin/custodes.js', 'witness', 'serve', '--witness-key', keyFile, '--state', `${keyFile}.state`, '--log-key', logVkey, '--port', String(port), '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.trim().endsWith('}')) resolve(text);
    });
    child.once('exit', (code) => reject(new Error(`witness serve exited ${code}`)));
  });
  const { url, vkey } = JSON.parse(line) as { url: string; vkey: string };
  return { child, url, vkey };
}

describe('witnessed Custodes logs', () => {
  it('custodes audit verify --witness … --quorum 2 accepts a log two CLI-run witnesses cosigned, and refuses a quorum they cannot meet', async () => {
    const auditJwk = await generatePrincipalKey();
    const vkey = (await auditSigningKey(JSON.stringify(auditJwk))).vkey;
    const witnesses = [await runWitness('witness.local/one', vkey), await runWitness('witness.local/two', vkey)];
    const emu = await startCustodes({
      bindings: { AUDIT_SIGNING_JWK: JSON.stringify(auditJwk), AUDIT_WITNESSES: JSON.stringify(witnesses.map(({ url, vkey }) => ({ url, vkey }))) },
    });
    try {
      const { tenant, owner } = await emu.provisionTenant();
      await owner.api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } });
      const listed = (await owner.api.GET('/v1/audit/witnesses')).data!.witnesses;
      assert.deepEqual(
        listed.map((w) => w.vkey),
        witnesses.map((w) => w.vkey),
      );
      const keyFile = join(tmp, 'owner.jwk');
      writeFileSync(keyFile, JSON.stringify(owner.key));
      const verify = (...more: string[]) =>
        cli([
          'audit',
          'verify',
          '--tenant',
          tenant,
          '--key',
          keyFile,
          '--iss',
          tenant,
          '--url',
          emu.url,
          '--state',
          join(tmp, 'owner-state.json'),
          '--trust-on-first-use',
          ...witnesses.flatMap((w) => ['--witness', w.vkey]),
          ...more,
        ]);
      const ok = await verify('--quorum', '2');
      assert.equal(ok.code, 0, ok.err + ok.out);
      assert.match(ok.out, /Cosigned by 2 of 2 witnesses \(quorum 2\): witness\.local\/one, witness\.local\/two/);
      const stranger = cosignerVkey('witness.local/three', new Uint8Array(32).fill(7));
      const short = await verify('--witness', stranger, '--quorum', '3');
      assert.equal(short.code, 1);
      assert.match(short.err + short.out, /cosigned by 2 of the 3 witnesses given .*; 3 required|carries 3 cosignature/);
    } finally {
      await emu.close();
      for (const w of witnesses) w.child.kill();
    }
  });

  it('a witness that is down delays cosigning but never an append; once it is back, the next reader gets a cosigned checkpoint', async () => {
    const auditJwk = await generatePrincipalKey();
    const vkey = (await auditSigningKey(JSON.stringify(auditJwk))).vkey;
    // Down as badly as it gets: it takes the connection and never answers.
    const hung = createServer(() => {});
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as AddressInfo).port;
    const keyJwk = (await generatePrincipalKey()) as never;
    const witness = new Witness({
      name: 'witness.local/flaky',
      privateJwk: keyJwk,
      logs: { origins: ['custodes/*'], keys: [vkey] },
      store: new MemoryWitnessStore(),
    });
    const emu = await startCustodes({
      bindings: { AUDIT_SIGNING_JWK: JSON.stringify(auditJwk), AUDIT_WITNESSES: JSON.stringify([{ url: `http://127.0.0.1:${port}`, vkey: witness.vkey }]) },
    });
    try {
      const { tenant, owner } = await emu.provisionTenant();
      const started = performance.now();
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await owner.api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } });
        assert.ok(performance.now() - t0 < 1000, `append ${i} took ${Math.round(performance.now() - t0)} ms with the witness down (its timeout is 3 s)`);
      }
      assert.ok(performance.now() - started < 5000);
      const source = auditSource(owner.api, `tenants/${tenant}`);
      await assert.rejects(source.cosignedCheckpoint(1), (e: { problem?: { code?: string } }) => e.problem?.code === 'not_cosigned');
      // Back up, on the same address.
      await new Promise<void>((resolve) => hung.close(() => resolve()));
      hung.closeAllConnections();
      const back = await serveWitness(witness, { origins: ['custodes/*'], keys: [vkey] }, { port });
      try {
        const result = await verifyAuditLog(source, { log: `tenants/${tenant}`, witnesses: [witness.vkey], quorum: 1 });
        assert.ok(result.ok, result.ok ? '' : result.error);
        assert.deepEqual(result.cosignedBy, ['witness.local/flaky']);
        assert.ok(result.size >= 10);
      } finally {
        await back.close();
      }
    } finally {
      await emu.close();
      hung.close();
    }
  });
});
