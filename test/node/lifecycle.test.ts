/**
 * An emulator's life (issue 31): it answers nothing broken while it starts,
 * a persisted instance restarts with its data and its keys, and the whole
 * state saves to one file and loads again — into the same instance after a
 * reset, or into a new one — with the log still verifying against the
 * checkpoint a tenant saved before the export. A file it cannot honour (a
 * newer Custodes, another audit key, not a state file) is refused, saying why.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { runCli } from './support/cli';
import { findD1 } from './support/store';
import { buildWorker } from '../../scripts/build-worker';
import { createApiClient, GuestContents, KeystoreMismatchError, newKeystore, type Keystore } from '../../src/sdk/index';
import { startCustodes, type Custodes } from '../../src/testing/index';
import { freePort } from '../../src/testing/runtime';

const dir = mkdtempSync(join(tmpdir(), 'custodes-lifecycle-'));
before(() => buildWorker());
after(() => rmSync(dir, { recursive: true, force: true }));

/** `custodes audit verify` for a tenant, its state kept in `stateFile`. */
async function verify(emu: Custodes, tenant: string, ownerKeyFile: string, stateFile: string) {
  return runCli(emu.url, ['audit', 'verify', '--tenant', tenant, '--key', ownerKeyFile, '--trust-on-first-use', '--state', stateFile]);
}

/** A tenant that wrote one secret page, its key in a file, its log verified once (the state saved). */
async function tenantWithASecret(emu: Custodes, name: string) {
  const t = await emu.provisionTenant({ name });
  const keystore = await newKeystore();
  await new GuestContents(t.owner.api, keystore).write({ tenant: t.tenant, space: 'memory', resource: t.vm }, 0, Buffer.from(`${name}'s secret`));
  const ownerKeyFile = join(dir, `${name}-owner.jwk`);
  writeFileSync(ownerKeyFile, JSON.stringify(t.owner.key));
  const stateFile = join(dir, `${name}-audit-state.json`);
  const first = await verify(emu, t.tenant, ownerKeyFile, stateFile);
  assert.equal(first.code, 0, first.err);
  return { ...t, name, keystore, ownerKeyFile, stateFile };
}

/** The tenant's secret page as `emu` serves it now, decrypted here. */
const readSecret = async (emu: Custodes, t: { name: string; tenant: string; vm: string; owner: { id: string; key: object } }, keystore: Keystore) =>
  Buffer.from(
    await new GuestContents(emu.client(t.owner as never), keystore).read({ tenant: t.tenant, space: 'memory', resource: t.vm }, 0, `${t.name}'s secret`.length),
  ).toString();

describe('issue 31: a start answers no 5xx', () => {
  it('a client polling /v1/health from the first moment of a fresh start sees only 200s: requests wait for the schema', async () => {
    const port = await freePort('127.0.0.1');
    const statuses: number[] = [];
    let starting = true;
    const poller = (async () => {
      while (starting) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/v1/health`);
          statuses.push(response.status);
          await response.arrayBuffer();
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const emu = await startCustodes({ port });
    starting = false;
    await poller;
    try {
      assert.ok(statuses.length > 0, 'the poller reached the server while it started');
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
        `answers while starting: ${statuses.join(' ')}`,
      );
    } finally {
      await emu.close();
    }
  });

  it('a start on a port already taken fails at once, saying so, and leaves no workerd running behind it', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as AddressInfo;
    const workerds = () =>
      execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter((c) => c.includes('workerd')).length;
    const before = workerds();
    try {
      await assert.rejects(
        startCustodes({ port }),
        (error: Error & { code?: string }) => error.code === 'ERR_ADDRESS_IN_USE' && error.message.includes(String(port)),
      );
      // Left running, workerd would keep this test file's process alive until CI's own deadline.
      assert.equal(workerds(), before, 'the failed start disposed of its workerd');
    } finally {
      taken.close();
    }
  });

  it("the Worker applies a start's migrations itself (POST /_emulator/schema): only with the control token, a malformed request refused, and once per start", async () => {
    const emu = await startCustodes();
    try {
      const schema = (authorization: string | null, body: unknown) =>
        fetch(`${emu.url}/_emulator/schema`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
          body: JSON.stringify(body),
        });
      const noToken = await schema(null, { migrations: [] });
      assert.equal(noToken.status, 401);
      assert.equal(((await noToken.json()) as { code: string }).code, 'control_token_missing');
      const malformed = await schema(`Bearer ${emu.controlToken}`, { migrations: 'DROP TABLE tenants' });
      assert.equal(malformed.status, 400);
      assert.equal(((await malformed.json()) as { code: string }).code, 'invalid_request');
      // It answered the start's call; after that the control token is no channel for SQL into a running instance.
      const again = await schema(`Bearer ${emu.controlToken}`, { migrations: [{ name: '9999_edit.sql', sql: 'DELETE FROM tenants' }] });
      assert.equal(again.status, 409);
      assert.equal(((await again.json()) as { code: string }).code, 'invalid_state');
      assert.equal((await emu.client(emu.admins[0]!).GET('/v1/admin/tenants')).response.status, 200);
    } finally {
      await emu.close();
    }
  });
});

describe('issue 31: a persisted instance restarts', () => {
  it('with its data, its admins and its audit key: the log goes on and verifies against the state saved before the restart', async () => {
    const persist = join(dir, 'persisted');
    let emu = await startCustodes({ persist });
    const t = await tenantWithASecret(emu, 'restarted');
    const admins = emu.admins.map((a) => a.key.x);
    await emu.close();
    const kept = statSync(join(persist, 'custodes-keys.json'));
    assert.equal(kept.mode & 0o077, 0, 'the keys file is readable by its owner only');

    emu = await startCustodes({ persist }); // no keys passed: the directory has them
    try {
      assert.deepEqual(
        emu.admins.map((a) => a.key.x),
        admins,
      );
      const tenants = (await emu.client(emu.admins[0]).GET('/v1/admin/tenants')).data!.tenants;
      assert.ok(tenants.some((x) => x.id === t.tenant));
      assert.equal(await readSecret(emu, t, t.keystore), "restarted's secret");
      const again = await verify(emu, t.tenant, t.ownerKeyFile, t.stateFile);
      assert.equal(again.code, 0, again.err);
    } finally {
      await emu.close();
    }
  });
});

describe('issue 34: a reset is one batch', () => {
  it('empties every table but the admins, drops a rollback copy, and leaves the provider log with exactly its two new records', async () => {
    const persist = join(dir, 'reset-in-one');
    const emu = await startCustodes({ persist });
    try {
      await tenantWithASecret(emu, 'reset');
      await emu.faults.set([{ kind: 'rollback-store', route: 'GET /v1/tenants/*/vms' }]); // copies the whole store
      const store = () => new DatabaseSync(findD1(persist), { readOnly: true });
      const copies = (db: DatabaseSync) =>
        db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE 'emulator\\_copy\\_\\_%' ESCAPE '\\'").get()!.n;
      const before = store();
      assert.ok(Number(copies(before)) > 5, 'the rule copied the store');
      before.close();

      await emu.reset();
      const db = store();
      try {
        assert.equal(copies(db), 0, 'no rollback copy outlives a reset');
        const rows = (table: string) => Number(db.prepare(`SELECT count(*) AS n FROM "${table}"`).get()!.n);
        for (const table of ['tenants', 'hosts', 'vms', 'toolstacks', 'content_versions', 'content_heads', 'content_flows', 'emulator_state'])
          assert.equal(rows(table), 0, table);
        assert.equal(rows('admins'), 2, 'the enrolled admins are kept');
        assert.deepEqual(
          db
            .prepare('SELECT log, size FROM audit_logs')
            .all()
            .map((r) => ({ ...r })),
          [{ log: 'provider', size: 2 }],
        );
        assert.deepEqual(
          db
            .prepare('SELECT action FROM audit_records ORDER BY idx')
            .all()
            .map((r) => r.action),
          ['audit.key.activate', 'emulator.reset'],
        );
      } finally {
        db.close();
      }
      // Every sequencer forgot its log: a new tenant's log, written after the reset, verifies from its first record.
      const next = await tenantWithASecret(emu, 'after-reset');
      const records = (await next.owner.api.GET('/v1/tenants/{tenant}/audit/records', { params: { path: { tenant: next.tenant }, query: { from: 0 } } })).data!;
      assert.equal(records.records[0]!.index, 0);
    } finally {
      await emu.close();
    }
  });

  it("clears what a log's sequencer kept in its own storage (a refusal window), and only then: nothing of it reaches the log after a restart", async () => {
    const persist = join(dir, 'reset-sequencer-storage');
    // One refusal in full per one-second window, the rest counted in the provider log's sequencer's storage.
    const bindings = { AUDIT_REFUSAL_SAMPLE: '1', AUDIT_REFUSAL_WINDOW_SECONDS: '1' };
    const refusedAnonymously = async (emu: Custodes) => assert.equal((await fetch(`${emu.url}/v1/admin/hosts`)).status, 401);
    let emu = await startCustodes({ persist, bindings });
    try {
      // A first reset finds the storage empty and says so: from here the sequencer clears it only once something was kept.
      await emu.reset();
      for (let i = 0; i < 3; i++) await refusedAnonymously(emu); // the 2nd and 3rd are counted: a window kept, an alarm set
      await emu.reset();
    } finally {
      await emu.close();
    }
    // The same store in a new process: a window the reset left behind would be read back and summarized into the new log.
    emu = await startCustodes({ persist, bindings });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past any window of the first process
      await refusedAnonymously(emu); // a refusal in a new window: an old one still kept would be summarized first
      const admin = emu.client(emu.admins[0]);
      const records = (await admin.GET('/v1/admin/audit/records', { params: { query: { from: 0 } } })).data!.records;
      const actions = records.map((r) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString()).action as string);
      assert.ok(!actions.includes('audit.refusals.summarize'), `no summary of a window from before the reset: ${actions.join(', ')}`);
      assert.deepEqual(actions.slice(0, 2), ['audit.key.activate', 'emulator.reset']);
    } finally {
      await emu.close();
    }
  });
});

describe('issue 31: a clock and faults the user controls', () => {
  it('a restart clears the clock and the fault rules, unless keepControls keeps them; then the CLI still works on the moved clock', async () => {
    const persist = join(dir, 'controls');
    let emu = await startCustodes({ persist });
    await emu.clock.advance(3600);
    await emu.faults.set([{ kind: 'latency', route: 'GET /v1/admin/hosts', ms: 1 }]);
    await emu.close();
    emu = await startCustodes({ persist });
    let info = (await emu.info()) as { emulator: { clock: { offsetMs: number }; faults: number } };
    assert.deepEqual([info.emulator.clock.offsetMs, info.emulator.faults], [0, 0]);
    await emu.clock.advance(3600);
    await emu.faults.set([{ kind: 'latency', route: 'GET /v1/admin/hosts', ms: 1 }]);
    await emu.close();
    emu = await startCustodes({ persist, keepControls: true });
    try {
      info = (await emu.info()) as typeof info;
      assert.deepEqual([info.emulator.clock.offsetMs, info.emulator.faults], [3_600_000, 1]);
      // /v1/info names the effective configuration: no guessing how this instance was started.
      const { configuration, emulator } = (await emu.info()) as {
        configuration: { buildDigest: string; origin: string; statePath: string; bindings: Record<string, string[]> };
        emulator: { activeFaults: unknown[] };
      };
      assert.deepEqual(emulator.activeFaults, [{ kind: 'latency', route: 'GET /v1/admin/hosts' }]);
      assert.equal(configuration.origin, emu.url);
      assert.equal(configuration.statePath, resolve(persist));
      assert.match(configuration.buildDigest, /^sha256:[0-9a-f]{64}$/);
      assert.ok(
        configuration.bindings.d1!.includes('DB') &&
          configuration.bindings.durableObjects!.length > 0 &&
          configuration.bindings.vars!.includes('CUSTODES_EMULATOR'),
        JSON.stringify(configuration.bindings),
      );
      assert.ok(!JSON.stringify(configuration).includes(emu.controlToken), 'names, never values');
      const keyFile = join(dir, 'controls-admin.jwk');
      writeFileSync(keyFile, JSON.stringify(emu.admins[0].key));
      const listed = await runCli(emu.url, ['admin', 'hosts', 'list', '--key', keyFile, '--iss', emu.admins[0].id]);
      assert.equal(listed.code, 0, listed.err);
      // How full its one D1 database is, against D1's 10 GB limit (issue 35).
      const databases = await runCli(emu.url, ['admin', 'databases', '--key', keyFile, '--iss', emu.admins[0].id]);
      assert.equal(databases.code, 0, databases.err);
      assert.match(databases.out, /^BINDING\s+HOLDS\s+TENANTS\s+VMS\s+SIZE MB\s+OF 10 GB\nDB\s+provider\+tenants\s+\d+\s+\d+\s+\d+\.\d\s+\d+\.\d\d%$/m);
    } finally {
      await emu.close();
    }
  });

  it('sets the clock to an instant, moves it back, and resets it; the CLI and a plain SDK client follow it', async () => {
    const emu = await startCustodes();
    try {
      const t = await emu.provisionTenant();
      const keyFile = join(dir, 'clock-owner.jwk');
      writeFileSync(keyFile, JSON.stringify(t.owner.key));
      process.env.CUSTODES_EMULATOR_TOKEN = emu.controlToken;
      const set = await runCli(emu.url, ['emulator', 'clock', 'set', '2031-05-01T12:00:00Z']);
      assert.equal(set.code, 0, set.err);
      assert.match(set.out, /The server's clock reads 2031-05-01T12:00:0\d/);
      assert.match(((await emu.info()) as { time: string }).time, /^2031-05-01T12:0/);
      // Tokens minted on this machine's clock are refused for their time; the CLI and SDK mint again on the server's.
      const vms = await runCli(emu.url, ['vm', 'list', '--tenant', t.tenant, '--key', keyFile]);
      assert.equal(vms.code, 0, vms.err);
      const plain = createApiClient({ baseUrl: emu.url, key: t.owner.key, principal: t.tenant });
      assert.equal((await plain.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant: t.tenant } } })).response.status, 200);
      const back = await runCli(emu.url, ['emulator', 'clock', 'advance', '-3600']);
      assert.equal(back.code, 0, back.err);
      assert.match(((await emu.info()) as { time: string }).time, /^2031-05-01T11:0/);
      const reset = await runCli(emu.url, ['emulator', 'clock', 'reset']);
      assert.equal(reset.code, 0, reset.err);
      assert.match(reset.out, /real time/);
      assert.equal(((await emu.info()) as { emulator: { clock: { emulated: boolean } } }).emulator.clock.emulated, false);
      const bad = await runCli(emu.url, ['emulator', 'clock', 'set', 'next tuesday']);
      assert.equal(bad.code, 2);
    } finally {
      await emu.close();
    }
  });
});

describe('issue 31: the whole state in one file', () => {
  let emu: Custodes;
  before(async () => (emu = await startCustodes()));
  after(() => emu?.close());

  it('exports, resets, imports, and the log verifies against the checkpoint saved before the export; a new instance starts from the file too', async () => {
    const t = await tenantWithASecret(emu, 'saved');
    const file = join(dir, 'state.json');
    process.env.CUSTODES_EMULATOR_TOKEN = emu.controlToken;
    const exported = await runCli(emu.url, ['emulator', 'export', file]);
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /Wrote \d+ rows of \d+ tables to .*state\.json \(state format 1, \d+ migrations\)/);
    assert.equal(statSync(file).mode & 0o077, 0, 'the file holds the audit key: its owner only');

    assert.equal((await runCli(emu.url, ['emulator', 'reset'])).code, 0);
    const afterReset = await verify(emu, t.tenant, t.ownerKeyFile, t.stateFile);
    assert.equal(afterReset.code, 1, 'a reset log is not the one the tenant saw');

    const imported = await runCli(emu.url, ['emulator', 'import', file]);
    assert.equal(imported.code, 0, imported.err);
    assert.match(imported.out, /Loaded \d+ rows of \d+ tables/);
    const verified = await verify(emu, t.tenant, t.ownerKeyFile, t.stateFile);
    assert.equal(verified.code, 0, verified.err);
    assert.equal(await readSecret(emu, t, t.keystore), "saved's secret");
    // The import is on the provider's record.
    const provider = (await emu.client(emu.admins[0]).GET('/v1/admin/audit/records', { params: { query: { from: 0, limit: 1000 } } })).data!.records;
    assert.ok(provider.some((r) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString()).action === 'emulator.state.import'));

    // A new instance needs the admins' keys too: a CLI export cannot hold them, a snapshot does.
    await assert.rejects(startCustodes({ from: file }), /holds no enrolled admins' keys/);
    const snapshot = join(dir, 'snapshot.json');
    await emu.snapshot(snapshot);
    // A new instance from the snapshot: the same logs, under the same key, the same admins.
    const copy = await startCustodes({ from: snapshot });
    try {
      assert.equal(await readSecret(copy, t, t.keystore), "saved's secret");
      const there = await verify(copy, t.tenant, t.ownerKeyFile, t.stateFile);
      assert.equal(there.code, 0, there.err);
      assert.deepEqual(
        copy.admins.map((a) => a.id),
        emu.admins.map((a) => a.id),
      );
      assert.equal((await copy.client(copy.admins[0]).GET('/v1/admin/tenants')).response.status, 200);
    } finally {
      await copy.close();
    }
  });

  it('refuses a file from a newer Custodes, one signed by another audit key, and one that is not a state file — each with a clear problem, nothing lost', async () => {
    const t = await tenantWithASecret(emu, 'kept');
    const state = await emu.snapshot();
    process.env.CUSTODES_EMULATOR_TOKEN = emu.controlToken;
    const attempt = async (name: string, document: unknown) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(document));
      return runCli(emu.url, ['emulator', 'import', file, '--json']);
    };
    const newerShape = await attempt('newer-shape.json', { ...state, version: 99 });
    assert.equal(newerShape.code, 1);
    assert.equal(JSON.parse(newerShape.err).code, 'state_too_new');
    const newerSchema = await attempt('newer-schema.json', { ...state, migrations: [...state.migrations, '9999_from_the_future.sql'] });
    assert.equal(JSON.parse(newerSchema.err).code, 'state_too_new');
    assert.match(JSON.parse(newerSchema.err).detail, /9999_from_the_future\.sql/);
    const other = await startCustodes();
    try {
      const foreign = await attempt('foreign.json', await other.snapshot());
      assert.equal(JSON.parse(foreign.err).code, 'state_key_mismatch');
    } finally {
      await other.close();
    }
    const garbage = await attempt('garbage.json', { hello: 'world' });
    assert.equal(JSON.parse(garbage.err).code, 'state_unreadable');
    // A cell that claims to be bytes but whose base64 does not decode: refused before anything is replaced.
    const [name, table] = Object.entries(state.tables).find(([, t]) => t.rows.length > 0)!;
    const broken = {
      ...state,
      tables: { ...state.tables, [name]: { ...table, rows: [[{ $base64: 'not base64!' }, ...table.rows[0]!.slice(1)], ...table.rows.slice(1)] } },
    };
    const badCell = await attempt('bad-cell.json', broken);
    assert.equal(JSON.parse(badCell.err).code, 'state_unreadable');
    assert.match(JSON.parse(badCell.err).detail, new RegExp(`Table ${name}`));
    // Nothing was lost on the way.
    assert.equal(await readSecret(emu, t, t.keystore), "kept's secret");
    const verified = await verify(emu, t.tenant, t.ownerKeyFile, t.stateFile);
    assert.equal(verified.code, 0, verified.err);
  });

  it('a file from an older Custodes (without the newest migrations) is brought through them: envelopes stored as base64 text load as BLOBs', async () => {
    const t = await tenantWithASecret(emu, 'older');
    const state = await emu.snapshot();
    const blobsAt = state.migrations.findIndex((m) => m.startsWith('0021_envelopes_as_blobs'));
    assert.ok(blobsAt > 0);
    // As a Custodes before migration 0021 wrote it: envelopes as base64 text, not BLOB cells.
    const versions = state.tables.content_versions!;
    const envelopeAt = versions.columns.indexOf('envelope');
    const rows = versions.rows.map((row) => row.map((cell, i) => (i === envelopeAt ? (cell as { $base64: string }).$base64 : cell)));
    assert.ok(rows.length > 0 && rows.every((row) => typeof row[envelopeAt] === 'string'));
    const older = { ...state, migrations: state.migrations.slice(0, blobsAt), tables: { ...state.tables, content_versions: { ...versions, rows } } };
    const file = join(dir, 'older.json');
    writeFileSync(file, JSON.stringify(older));
    process.env.CUSTODES_EMULATOR_TOKEN = emu.controlToken;
    const loaded = await runCli(emu.url, ['emulator', 'import', file, '--json']);
    assert.equal(loaded.code, 0, loaded.err);
    assert.deepEqual(JSON.parse(loaded.out).migratedThrough, state.migrations.slice(blobsAt));
    assert.equal(await readSecret(emu, t, t.keystore), "older's secret");
    const again = await emu.snapshot();
    assert.ok(
      again.tables.content_versions!.rows.every((row) => typeof row[envelopeAt] === 'object'),
      'stored as BLOBs',
    );
  });
});

describe('issue 31: smaller things a user hits', () => {
  let emu: Custodes;
  before(async () => (emu = await startCustodes()));
  after(() => emu?.close());

  it('the recorder shows the API as a client used it, not the controls that drove the emulator; GET /_emulator lists the controls', async () => {
    await emu.recorder.clear();
    await emu.client(emu.admins[0]).GET('/v1/admin/hosts');
    await emu.faults.clear();
    const urls = (await emu.recorder.entries()).map((e) => e.url);
    assert.deepEqual(urls, ['/v1/admin/hosts']);
    const index = await fetch(`${emu.url}/_emulator`, { headers: { Authorization: `Bearer ${emu.controlToken}` } });
    assert.equal(index.status, 200);
    assert.ok(Object.keys(((await index.json()) as { controls: object }).controls).some((c) => c.includes('/_emulator/state')));
  });

  it('a fault rule whose route can match nothing is refused, and the test library says which field and why', async () => {
    await assert.rejects(emu.faults.set([{ kind: 'latency', route: 'garbage', ms: 5 }]), (e: unknown) => {
      const message = (e as Error).message;
      return (
        (e as Error).name === 'EmulatorControlError' &&
        /400 invalid_request/.test(message) &&
        /faults\.0\.route: a route is an optional method and a path pattern/.test(message)
      );
    });
    assert.deepEqual((await emu.info()).emulator?.activeFaults, []);
  });

  it('a read with another keystore says so (KeystoreMismatchError, and in the CLI), not a bare JWEDecryptionFailed', async () => {
    const t = await emu.provisionTenant();
    const target = { tenant: t.tenant, space: 'memory' as const, resource: t.vm };
    await new GuestContents(t.owner.api, await newKeystore()).write(target, 0, Buffer.from('sealed by the first keystore'));
    await assert.rejects(
      new GuestContents(t.owner.api, await newKeystore()).read(target, 0, 8),
      (e: unknown) => e instanceof KeystoreMismatchError && /wrapped by another keystore's KEK/.test((e as Error).message),
    );
    const keyFile = join(dir, 'mismatch-owner.jwk');
    writeFileSync(keyFile, JSON.stringify(t.owner.key));
    const other = join(dir, 'other-keystore.json');
    writeFileSync(other, JSON.stringify(await newKeystore()));
    const read = await runCli(emu.url, ['mem', 'read', '--tenant', t.tenant, '--key', keyFile, '--keystore', other, '--vm', t.vm, '--length', '8']);
    assert.equal(read.code, 1);
    assert.match(read.err, /this keystore cannot open data key .*Read with the keystore that wrote these pages/);
    assert.doesNotMatch(read.err, /JWEDecryptionFailed/);
  });

  it('after emulator reset, audit verify against the checkpoint saved before says why it fails, and how to go on', async () => {
    const adminKey = join(dir, 'hint-admin.jwk');
    writeFileSync(adminKey, JSON.stringify(emu.admins[0].key));
    const provider = ['audit', 'verify', '--provider', '--key', adminKey, '--iss', emu.admins[0].id, '--state', join(dir, 'hint-provider-state.json')];
    const first = await runCli(emu.url, [...provider, '--trust-on-first-use']);
    assert.equal(first.code, 0, first.err);
    process.env.CUSTODES_EMULATOR_TOKEN = emu.controlToken;
    assert.equal((await runCli(emu.url, ['emulator', 'reset'])).code, 0);
    const failed = await runCli(emu.url, provider);
    assert.equal(failed.code, 1);
    assert.match(failed.err, /FAILED: provider: /);
    assert.match(
      failed.err,
      /hint: http:\/\/127\.0\.0\.1:\d+ is an emulator: `custodes emulator reset` \(or an import\) starts its logs again, and the checkpoint saved in .*hint-provider-state\.json belongs to the log before/,
    );
  });
});
