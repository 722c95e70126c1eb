/**
 * Node-side checks of the offline verifier: the multi-core record checker
 * agrees with the reference one, and `custodes audit verify --bundle` works
 * with no network, pins its checkpoint and catches a rewritten bundle.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { signCheckpoint } from '../../src/audit/format/checkpoint';
import { appendLeaf, EMPTY_FRONTIER, frontierRoot, leafHash, rootOf, type Frontier } from '../../src/audit/format/merkle';
import { signRecord, type AuditRecord } from '../../src/audit/format/record';
import { auditSigningKey } from '../../src/audit/signing/signing-key';
import { checkRecordsHere, verifyAuditLog, type AuditSource, type RecordChecker } from '../../src/sdk/audit-verify';
import { main } from '../../src/cli/main';
import { parallelRecordChecker } from '../../src/cli/parallel-verify';

const log = 'tenants/ten_node';

async function makeLog(n: number) {
  const jwk = await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey);
  const key = await auditSigningKey(JSON.stringify(jwk));
  let frontier: Frontier = EMPTY_FRONTIER;
  const records: { index: number; jws: string }[] = [];
  for (let index = 0; index < n; index++) {
    const record: AuditRecord = {
      v: 1,
      log,
      index,
      time: '2026-11-28T00:00:00.000Z',
      requestId: `req_${index}`,
      actor: { type: 'anonymous', id: null, kid: null, jti: null, ip: null },
      action: 'health.read',
      target: null,
      outcome: 'allowed',
      reason: null,
      request: { method: 'GET', path: '/v1/health' },
    };
    const { jws, payload } = await signRecord(record, key);
    frontier = appendLeaf(frontier, leafHash(payload)).frontier;
    records.push({ index, jws });
  }
  return { key, records, checkpoint: await signCheckpoint(log, n, frontierRoot(frontier), key) };
}

function writeBundle(dir: string, built: Awaited<ReturnType<typeof makeLog>>, records = built.records) {
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ log }));
  writeFileSync(join(dir, 'log-key.txt'), built.key.vkey);
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [built.key.publicJwk] }));
  writeFileSync(join(dir, 'checkpoint.txt'), built.checkpoint);
  writeFileSync(join(dir, 'records.jsonl'), `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  };
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
  try {
    return { code: await main(args), out };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

describe('record checkers', () => {
  it('the parallel checker gives the reference answers', async () => {
    const built = await makeLog(1100); // above the threshold at which threads are used
    const jws = built.records.map((r) => r.jws);
    const tampered = [...jws];
    const [h, p, s] = tampered[1000]!.split('.');
    tampered[1000] = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    for (const list of [jws, tampered]) {
      for (const jwks of [[built.key.publicJwk], null]) {
        const reference = await checkRecordsHere(list, { log, jwks });
        const parallel = await parallelRecordChecker(3)(list, { log, jwks });
        assert.deepEqual(parallel.badSignatures, reference.badSignatures);
        assert.equal(parallel.claimError, reference.claimError);
        assert.deepEqual(
          parallel.leaves.map((l) => Buffer.from(l).toString('hex')),
          reference.leaves.map((l) => Buffer.from(l).toString('hex')),
        );
        if (jwks) {
          // Each complete aligned chunk's subtree root, as RFC 9162 computes it from the leaves.
          const { level, hashes } = parallel.subtrees!;
          assert.equal(hashes.length, Math.floor(list.length / 2 ** level));
          hashes.forEach((hash, i) => {
            const span = 2 ** level;
            assert.equal(Buffer.from(hash).toString('hex'), Buffer.from(rootOf(reference.leaves.slice(i * span, (i + 1) * span))).toString('hex'));
          });
        }
      }
    }
    assert.deepEqual((await parallelRecordChecker(2)(tampered, { log, jwks: [built.key.publicJwk] })).badSignatures, [1000]);
    // A record that is not header.payload.signature at all is refused, not a crash.
    const garbled = [...jws.slice(0, 1050), 'not-a-jws', ...jws.slice(1051)];
    const refused = await parallelRecordChecker(2)(garbled, { log, jwks: [built.key.publicJwk] });
    assert.ok(refused.badSignatures.includes(1050));
    assert.match(refused.claimError ?? '', /record 1050/);
    const swapped = [jws[1]!, jws[0]!, ...jws.slice(2)];
    assert.match((await parallelRecordChecker(2)(swapped, { log, jwks: [built.key.publicJwk] })).claimError ?? '', /record 0: it says it is record 1/);
  });

  it("the parallel checker's subtrees give the reference verdicts, against a saved checkpoint mid-chunk", async () => {
    const built = await makeLog(1100);
    const payloadOf = (jws: string) => new Uint8Array(Buffer.from(jws.split('.')[1]!, 'base64url'));
    const sourceOf = (records: { index: number; jws: string }[], checkpoint: string): AuditSource => ({
      logKey: async () => built.key.vkey,
      jwks: async () => ({ keys: [built.key.publicJwk] }),
      checkpoint: async () => checkpoint,
      records: async (from, limit) => ({ records: records.slice(from, from + limit) }),
    });
    const rootAt = (records: { jws: string }[], size: number) => rootOf(records.slice(0, size).map((r) => leafHash(payloadOf(r.jws))));
    const state = { log, vkey: built.key.vkey, checkpoint: await signCheckpoint(log, 700, rootAt(built.records, 700), built.key) };

    // Record 600 rewritten and the whole log re-signed: consistent in itself, not with the saved 700.
    const rewritten = [...built.records];
    const claims = JSON.parse(Buffer.from(payloadOf(rewritten[600]!.jws)).toString());
    rewritten[600] = { index: 600, jws: (await signRecord({ ...claims, action: 'vm.delete' }, built.key)).jws };
    const rewrittenCheckpoint = await signCheckpoint(log, 1100, rootAt(rewritten, 1100), built.key);

    for (const checkRecords of [checkRecordsHere, parallelRecordChecker(2)]) {
      const good = await verifyAuditLog(sourceOf(built.records, built.checkpoint), { log, state, checkRecords });
      assert.equal(good.ok, true, good.ok ? '' : good.error);
      const bad = await verifyAuditLog(sourceOf(rewritten, rewrittenCheckpoint), { log, state, checkRecords });
      assert.equal(bad.ok, false);
      assert.match(bad.ok ? '' : bad.error, /the log was rewritten: its first 700 records/);
    }
  });
});

describe('verifying while the pages arrive (issue 34)', () => {
  it('checks a log in segments as its pages come, out of order and short, with the same verdicts and positions', async () => {
    const built = await makeLog(5000); // three segments: 2048, 2048, 904
    const sourceOf = (records: { index: number; jws: string }[], { servedPerPage = 1000 } = {}): AuditSource => ({
      logKey: async () => built.key.vkey,
      jwks: async () => ({ keys: [built.key.publicJwk] }),
      checkpoint: async () => built.checkpoint,
      // Later pages answer first, and no page holds more than `servedPerPage` records.
      records: async (from, limit) => {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20 - from / 250)));
        return { records: records.slice(from, from + Math.min(limit, servedPerPage)) };
      },
    });
    const tamperedAt = (records: typeof built.records, i: number) => {
      const copy = [...records];
      const [h, p, s] = copy[i]!.jws.split('.');
      copy[i] = { index: i, jws: `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}` };
      return copy;
    };
    for (const checkRecords of [checkRecordsHere, parallelRecordChecker(2)]) {
      for (const servedPerPage of [1000, 700]) {
        const good = await verifyAuditLog(sourceOf(built.records, { servedPerPage }), { log, checkRecords });
        assert.equal(good.ok, true, good.ok ? '' : good.error);
        assert.equal(good.ok && good.size, 5000);
      }
      const bad = await verifyAuditLog(sourceOf(tamperedAt(built.records, 4500)), { log, checkRecords });
      assert.match(bad.ok ? '' : bad.error, /^record 4500: the signature does not verify .* \(1 bad in all\)/);
      const swapped = [...built.records];
      [swapped[2100], swapped[2101]] = [swapped[2101]!, swapped[2100]!];
      const reordered = await verifyAuditLog(sourceOf(swapped.map((r, index) => ({ ...r, index }))), { log, checkRecords });
      assert.match(reordered.ok ? '' : reordered.error, /record 2100: it says it is record 2101/);
    }
  });
});

describe('what a first verify waits for (issue 34)', () => {
  it('asks for the log key, the checkpoint, the record keys and the first records at once, not one after another', async () => {
    const built = await makeLog(3);
    const asked = new Set<string>();
    let bothAsked: () => void = () => undefined;
    const othersAsked = new Promise<void>((resolve) => {
      bothAsked = resolve;
    });
    const note = (what: string) => {
      asked.add(what);
      if (asked.has('checkpoint') && asked.has('jwks') && asked.has('records 0')) bothAsked();
    };
    const source: AuditSource = {
      // The key answers only once the others were asked for: one after another, this would never answer.
      logKey: async () => {
        await Promise.race([othersAsked, new Promise((_, reject) => setTimeout(() => reject(new Error('asked for one thing at a time')), 2000))]);
        return built.key.vkey;
      },
      checkpoint: async () => {
        note('checkpoint');
        return built.checkpoint;
      },
      jwks: async () => {
        note('jwks');
        return { keys: [built.key.publicJwk] };
      },
      records: async (from, limit) => {
        note(`records ${from}`);
        return { records: built.records.slice(from, from + limit) };
      },
    };
    const result = await verifyAuditLog(source, { log });
    assert.equal(result.ok, true, result.ok ? '' : result.error);
  });

  it('tells the record checker how many records are coming before it asks for the second page', async () => {
    const built = await makeLog(1200);
    const events: string[] = [];
    const checker = parallelRecordChecker(2);
    const checkRecords: RecordChecker = Object.assign((jws: string[], options: Parameters<RecordChecker>[1]) => checker(jws, options), {
      expect: (records: number) => {
        events.push(`expect ${records}`);
        checker.expect?.(records);
      },
    });
    const source: AuditSource = {
      logKey: async () => built.key.vkey,
      checkpoint: async () => built.checkpoint,
      jwks: async () => ({ keys: [built.key.publicJwk] }),
      records: async (from, limit) => {
        events.push(`records ${from}`);
        return { records: built.records.slice(from, from + limit) };
      },
    };
    const result = await verifyAuditLog(source, { log, checkRecords });
    assert.equal(result.ok, true, result.ok ? '' : result.error);
    // The first page is asked for with the checkpoint (the test above); the count is known before any other page is.
    assert.ok(events.includes('expect 1200') && events.indexOf('expect 1200') < events.indexOf('records 1000'), events.join(', '));
  });

  it('gives the reference answers when segments are checked at once, the workers alone until the last', async () => {
    const built = await makeLog(2600);
    const jws = built.records.map((r) => r.jws);
    const [h, p, s] = jws[300]!.split('.');
    jws[300] = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    const checker = parallelRecordChecker(2);
    checker.expect?.(jws.length);
    const jwks = [built.key.publicJwk];
    // Three segments in flight together, as the verifier hands them while pages arrive.
    const parts = await Promise.all([
      checker(jws.slice(0, 1024), { log, jwks, offset: 0 }),
      checker(jws.slice(1024, 2048), { log, jwks, offset: 1024 }),
      checker(jws.slice(2048), { log, jwks, offset: 2048 }),
    ]);
    const reference = await checkRecordsHere(jws, { log, jwks });
    assert.deepEqual(
      parts.flatMap((part) => part.badSignatures),
      reference.badSignatures,
    );
    assert.deepEqual(
      parts.flatMap((part) => part.leaves.map((l) => Buffer.from(l).toString('hex'))),
      reference.leaves.map((l) => Buffer.from(l).toString('hex')),
    );
    assert.equal(
      parts.every((part) => part.claimError === null),
      true,
    );
  });
});

describe('custodes audit verify --bundle', () => {
  it('verifies offline, pins the checkpoint, and catches a rewritten log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodes-bundle-'));
    const state = join(dir, 'state.json');
    const built = await makeLog(40);
    writeBundle(dir, built);
    const first = await cli(['audit', 'verify', '--bundle', dir, '--state', state, '--trust-on-first-use']);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /OK: tenants\/ten_node: 40 records verified/);
    assert.equal(JSON.parse(readFileSync(state, 'utf8')).log, log);

    // Same key, rebuilt without record 5: self-consistent, but not an extension of what we saw.
    const key = built.key;
    let frontier: Frontier = EMPTY_FRONTIER;
    const records: { index: number; jws: string }[] = [];
    for (const [index, r] of built.records.filter((_, i) => i !== 5).entries()) {
      const record = JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString());
      const { jws, payload } = await signRecord({ ...record, index }, key);
      frontier = appendLeaf(frontier, leafHash(payload)).frontier;
      records.push({ index, jws });
    }
    writeBundle(dir, { key, records, checkpoint: await signCheckpoint(log, records.length, frontierRoot(frontier), key) });
    const second = await cli(['audit', 'verify', '--bundle', dir, '--state', state]);
    assert.equal(second.code, 1);
    assert.match(second.out, /FAILED: tenants\/ten_node: rollback: the log shrank from 40 records/);
  });
});
