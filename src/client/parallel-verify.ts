/**
 * The record checker of audit-verify.ts on every core (node:worker_threads).
 * Ed25519 verification dominates a full check and is independent per record,
 * so each worker takes a contiguous slice and does all of a record's work —
 * decode, claim check, leaf hash, signature — returning 32-byte leaves in one
 * transferred buffer. The worker is plain JavaScript run from a string (no
 * TypeScript loader needed) and mirrors `checkRecordsHere`; the tests hold the
 * two to the same answers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkRecordsHere, type PublicJwk, type RecordCheck, type RecordChecker } from './audit-verify';

/** Below this many records, or with no signatures to check, starting threads costs more than it saves. */
const PARALLEL_THRESHOLD = 1000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash, createPublicKey, verify } = require('node:crypto');
const { jws: packed, jwks, log, offset } = workerData;
const list = Buffer.from(packed).toString('utf8').split('\\n');
const keys = new Map();
for (const k of jwks || []) {
  if (k.kid && k.kty === 'OKP' && k.crv === 'Ed25519' && k.x) {
    keys.set(k.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' }));
  }
}
// Records share a handful of headers: resolve each header to its key once.
const keyByHeader = new Map();
const keyFor = (h) => {
  if (!keyByHeader.has(h)) {
    let key = null;
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      key = (header.alg === 'EdDSA' && keys.get(header.kid)) || null;
    } catch {}
    keyByHeader.set(h, key);
  }
  return keyByHeader.get(h);
};
const LEAF_PREFIX = Buffer.from([0]);
const leaves = new Uint8Array(list.length * 32);
const badSignatures = [];
let claimError = null;
list.forEach((jws, i) => {
  const position = offset + i;
  const firstDot = jws.indexOf('.');
  const lastDot = jws.lastIndexOf('.');
  const payload = Buffer.from(jws.slice(firstDot + 1, lastDot), 'base64url');
  leaves.set(createHash('sha256').update(LEAF_PREFIX).update(payload).digest(), i * 32);
  if (claimError === null) {
    let claims = null;
    try { claims = JSON.parse(payload.toString('utf8')); } catch { claimError = 'record ' + position + ': the JWS payload is not JSON'; }
    if (claims && (claims.log !== log || claims.index !== position)) {
      claimError = 'record ' + position + ': it says it is record ' + String(claims.index) + ' of ' + String(claims.log) + ' (moved or reordered)';
    }
  }
  if (jwks) {
    let ok = false;
    try {
      const key = keyFor(jws.slice(0, firstDot));
      ok = !!key && verify(null, Buffer.from(jws.slice(0, lastDot), 'latin1'), key, Buffer.from(jws.slice(lastDot + 1), 'base64url'));
    } catch {}
    if (!ok) badSignatures.push(position);
  }
});
parentPort.postMessage({ leaves: leaves.buffer, claimError, badSignatures }, [leaves.buffer]);
`;

interface Slice {
  leaves: ArrayBuffer;
  claimError: string | null;
  badSignatures: number[];
}

function runSlice(jws: string[], jwks: PublicJwk[] | null, log: string, offset: number): Promise<Slice> {
  // One transferred buffer instead of thousands of cloned strings (JWS never contain a newline).
  const packed = new Uint8Array(Buffer.from(jws.join('\n'))).buffer;
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { jws: packed, jwks, log, offset }, transferList: [packed] });
    worker.once('message', (slice: Slice) => {
      resolve(slice);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

export function parallelRecordChecker(threads = availableParallelism()): RecordChecker {
  return async function checkRecordsInParallel(jwsList, options): Promise<RecordCheck> {
    const { log, jwks, offset = 0 } = options;
    if (!jwks || jwsList.length < PARALLEL_THRESHOLD || threads < 2) return checkRecordsHere(jwsList, options);
    const chunk = Math.max(1, Math.ceil(jwsList.length / threads));
    const starts: number[] = [];
    for (let start = 0; start < jwsList.length; start += chunk) starts.push(start);
    const slices = await Promise.all(starts.map((start) => runSlice(jwsList.slice(start, start + chunk), jwks, log, offset + start)));
    const leaves: Uint8Array[] = [];
    for (const slice of slices) {
      const bytes = new Uint8Array(slice.leaves);
      for (let i = 0; i < bytes.length; i += 32) leaves.push(bytes.subarray(i, i + 32));
    }
    return {
      leaves,
      claimError: slices.find((s) => s.claimError !== null)?.claimError ?? null,
      badSignatures: slices.flatMap((s) => s.badSignatures),
    };
  };
}
