/**
 * Checks many record signatures on every core (node:worker_threads): Ed25519
 * verification is CPU-bound and independent per record, so it scales with
 * cores. The worker is plain JavaScript run from a string: it needs no
 * TypeScript loader and mirrors `verifyJws` in audit-verify.ts.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PublicJwk } from './audit-verify';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const keys = new Map();
for (const k of workerData.jwks) {
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
const bad = [];
workerData.jws.forEach((jws, i) => {
  const firstDot = jws.indexOf('.');
  const lastDot = jws.lastIndexOf('.');
  let ok = false;
  try {
    const key = keyFor(jws.slice(0, firstDot));
    ok = !!key && verify(null, Buffer.from(jws.slice(0, lastDot)), key, Buffer.from(jws.slice(lastDot + 1), 'base64url'));
  } catch {}
  if (!ok) bad.push(workerData.offset + i);
});
parentPort.postMessage(bad);
`;

export async function verifyJwsInParallel(jws: string[], jwks: PublicJwk[], threads = availableParallelism()): Promise<number[]> {
  const chunk = Math.ceil(jws.length / threads) || 1;
  const slices = Array.from({ length: Math.min(threads, Math.ceil(jws.length / chunk)) }, (_, t) => t * chunk);
  const results = await Promise.all(
    slices.map(
      (offset) =>
        new Promise<number[]>((resolve, reject) => {
          const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { jws: jws.slice(offset, offset + chunk), jwks, offset } });
          worker.once('message', (bad: number[]) => {
            resolve(bad);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
    ),
  );
  return results.flat().sort((a, b) => a - b);
}
