/**
 * Offline audit verification speed, part of `npm run bench` and runnable alone
 * (`npm run bench:verify`, no Worker needed): records/s of the checkpoint path
 * (recompute the root, check one signed note) and of the full check (every
 * record's JWS on every core), next to this machine's own Ed25519 verify rate
 * measured in the same run on the very same signing inputs.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { signCheckpoint } from '../src/audit/format/checkpoint';
import { FrontierBuilder, leafHash } from '../src/audit/format/merkle';
import { signRecord, type AuditRecord } from '../src/audit/format/record';
import { auditSigningKey } from '../src/audit/signing/signing-key';
import { verifyAuditLog, type AuditSource } from '../src/sdk/audit-verify';
import { parallelRecordChecker } from '../src/cli/parallel-verify';
import { median } from './workers';

export const SYNTHETIC_RECORDS = Number(process.env.BENCH_VERIFY_RECORDS ?? 20_000);
const ROUNDS = 5;

/**
 * This machine's raw Ed25519 verify rate on the very signing inputs being
 * verified (record-sized messages), over one half-second window on `threads`
 * threads at once (summed): the physical limit the full check is compared with.
 */
async function ed25519VerifyRate(source: AuditSource, threads: number): Promise<number> {
  const { records } = await source.records(0, 500);
  const jwk = (await source.jwks()).keys[0];
  const workerSource = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { createPublicKey, verify } = require('node:crypto');
    const key = createPublicKey({ key: workerData.jwk, format: 'jwk' });
    const samples = workerData.jws.map((j) => {
      const l = j.lastIndexOf('.');
      return [Buffer.from(j.slice(0, l), 'latin1'), Buffer.from(j.slice(l + 1), 'base64url')];
    });
    let count = 0;
    const start = performance.now();
    while (performance.now() - start < 500) { for (const [d, s] of samples) verify(null, d, key, s); count += samples.length; }
    parentPort.postMessage(count / ((performance.now() - start) / 1000));
  `;
  const rates = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(workerSource, { eval: true, execArgv: [], workerData: { jws: records.map((r) => r.jws), jwk } });
          worker.once('message', (rate: number) => {
            resolve(rate);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0);
}

/** A log of `n` records signed exactly as the sequencer signs them, built in this process. */
async function syntheticLog(n: number, auditKey: JWK): Promise<{ log: string; source: AuditSource }> {
  const key = await auditSigningKey(JSON.stringify(auditKey));
  const log = 'tenants/ten_synthetic';
  const time = new Date().toISOString();
  const tree = new FrontierBuilder();
  const records: { index: number; jws: string }[] = [];
  for (let index = 0; index < n; index++) {
    const record: AuditRecord = {
      v: 1,
      log,
      index,
      time,
      requestId: `req_${index}`,
      actor: { type: 'admin', id: 'adm_bootstrap', kid: 'x'.repeat(43), jti: crypto.randomUUID(), ip: null },
      action: 'vm.create',
      target: { type: 'vm', id: `vm_${index}` },
      outcome: 'allowed',
      reason: null,
      request: { method: 'POST', path: '/v1/admin/tenants/ten_synthetic/vms' },
    };
    const { jws, payload } = await signRecord(record, key);
    tree.push(leafHash(payload));
    records.push({ index, jws });
  }
  const note = await signCheckpoint(log, n, tree.root(), key);
  // As downloaded: strings from JSON.parse are flat, where the signer's are V8 rope strings
  // that cost a flattening copy on first read.
  const downloaded = JSON.parse(JSON.stringify(records)) as typeof records;
  return {
    log,
    source: {
      logKey: async () => key.vkey,
      jwks: async () => ({ keys: [key.publicJwk] }),
      checkpoint: async () => note,
      records: async (from, limit) => ({ records: downloaded.slice(from, from + limit) }),
    },
  };
}

/** Records/s of one verification (the first full check of a run also starts the checker's threads). */
async function verificationRate(log: string, source: AuditSource, size: number, checkSignatures: boolean): Promise<number> {
  const start = performance.now();
  const result = await verifyAuditLog(source, { log, checkSignatures, checkRecords: parallelRecordChecker() });
  if (!result.ok) throw new Error(result.error);
  return size / ((performance.now() - start) / 1000);
}

export interface DownloadedLog {
  log: string;
  size: number;
  source: AuditSource;
}

/** The report section: each given log (e.g. the bench's busiest tenant log) and a synthetic one. */
export async function verificationReport(auditKey: JWK, downloaded: DownloadedLog[] = []): Promise<string[]> {
  const cores = os.availableParallelism();
  const synthetic = await syntheticLog(SYNTHETIC_RECORDS, auditKey);
  const logs = [...downloaded, { ...synthetic, size: SYNTHETIC_RECORDS }];
  // Five rounds; each measures every figure once, back to back, so a round's ratios compare
  // figures taken under the same conditions. On a shared machine the Ed25519 rate itself drifts
  // (by 40% between runs here), so the ratio reported is the median of the rounds' own ratios,
  // not the best full check over the best nominal, which may come from different moments.
  const rows = logs.map(({ size }) => ({ size, checkpointPath: 0, full: 0, ratios: [] as number[], allRatios: [] as number[] }));
  let oneCore = 0;
  let allCores = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const roundOneCore = await ed25519VerifyRate(synthetic.source, 1);
    const roundAllCores = await ed25519VerifyRate(synthetic.source, cores);
    oneCore = Math.max(oneCore, roundOneCore);
    allCores = Math.max(allCores, roundAllCores);
    for (const [i, { log, size, source }] of logs.entries()) {
      rows[i]!.checkpointPath = Math.max(rows[i]!.checkpointPath, await verificationRate(log, source, size, false));
      const full = await verificationRate(log, source, size, true);
      rows[i]!.full = Math.max(rows[i]!.full, full);
      if (round > 0) {
        // Round 0 also starts the checker's threads: a one-off cost of the process, not of a check.
        rows[i]!.ratios.push(full / (roundOneCore * cores));
        rows[i]!.allRatios.push(full / roundAllCores);
      }
    }
  }
  const nominal = oneCore * cores;
  const what =
    downloaded.length > 0
      ? `The benchmark's own busiest tenant log (downloaded once) and a ${SYNTHETIC_RECORDS.toLocaleString('en')}-record log signed the same way in this process`
      : `A ${SYNTHETIC_RECORDS.toLocaleString('en')}-record log signed as the sequencer signs, built in this process`;
  return [
    '## Offline verification',
    '',
    `${what}; verified in memory, the full check on all ${cores} cores. ${ROUNDS} rounds, each taking every figure once, back to back; records/s are the best round's, and each ratio is the median of the rounds' own ratios (rounds 2–${ROUNDS}: the first also starts the checker's threads), so a machine whose speed drifts between rounds does not skew it. On the records' own signing inputs this machine verifies up to ${oneCore.toFixed(0)} Ed25519 signatures/s on one core (node:crypto, half-second windows), so ${nominal.toFixed(0)}/s nominally on ${cores} cores; with all ${cores} verifying at once it measures up to ${allCores.toFixed(0)}/s (${(allCores / nominal).toFixed(2)} of nominal).`,
    '',
    '| log | check | records/s | reference |',
    '|---|---|---|---|',
    ...rows.flatMap(({ size, checkpointPath, full, ratios, allRatios }) => [
      `| ${size.toLocaleString('en')} records | checkpoint path: recompute the root, verify one signed note | ${checkpointPath.toFixed(0)} | target ≥ 20,000 |`,
      `| ${size.toLocaleString('en')} records | full: also every record's JWS | ${full.toFixed(0)} | ${median(ratios).toFixed(2)} × nominal (one-core rate × ${cores}; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}), ${median(allRatios).toFixed(2)} × the measured all-core rate; target ≥ 0.85 × nominal |`,
    ]),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const auditKey = (await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey)) as JWK;
  console.log((await verificationReport(auditKey)).join('\n'));
}
