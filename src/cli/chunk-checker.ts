/**
 * The chunk checker of the CLI's parallel record checker (./parallel-verify.ts):
 * run on this thread and in each worker (./chunk-checker.worker.ts), on one
 * shared job. It checks 256-record chunks taken from a shared counter until
 * none is left: each record's Ed25519 signature, its claim (this log, its own
 * position), its Merkle leaf, and the subtree root of each complete chunk.
 * It mirrors `checkRecordsHere` (sdk/audit-verify.ts), and
 * test/node/verifier.test.ts holds the two to the same answers.
 *
 * Why Buffer and byte offsets rather than strings: Ed25519 verification is
 * ~95% of a check, so the cost to beat is everything around it — a signing
 * input is a zero-copy view of the shared bytes, a payload is decoded into
 * one scratch buffer and hashed in place.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import type { PublicJwk } from '../sdk/audit-verify';

/** Records per grab from the shared counter: small enough to balance, large enough to keep contention nil. */
export const CHUNK = 256;

/** Bits of a record's status byte. */
export const Status = { BadSignature: 1, ClaimMismatch: 2 } as const;

export interface SharedJob {
  /** The JWS strings as ASCII, back to back. */
  bytes: SharedArrayBuffer;
  /** n+1 byte offsets into `bytes`. */
  offsets: SharedArrayBuffer;
  /** [0]: next record to take. */
  cursor: SharedArrayBuffer;
  /** One byte of Status bits per record. */
  status: SharedArrayBuffer;
  /** 32 bytes per record: the Merkle leaf hash of its payload. */
  leaves: SharedArrayBuffer;
  /** 32 bytes per complete chunk: the root of its aligned subtree of CHUNK leaves. */
  subtrees: SharedArrayBuffer;
  jwks: PublicJwk[] | null;
  log: string;
  offset: number;
}

/** One-shot SHA-256 (`crypto.hash`, Node ≥ 21.7, skips a Hash object per call). */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;
const sha256 = (data: Uint8Array): Buffer => (oneShot ? oneShot('sha256', data, 'buffer') : createHash('sha256').update(data).digest());

/** The job's keys by kid (Ed25519 only, as the log signs). */
function keysOf(jwks: PublicJwk[] | null): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const k of jwks ?? []) {
    if (k.kid && k.kty === 'OKP' && k.crv === 'Ed25519' && k.x)
      keys.set(k.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' }));
  }
  return keys;
}

/** Checks chunks of `job` until none is left. */
export function checkChunks(job: SharedJob): void {
  const bytes = Buffer.from(job.bytes);
  const offsets = new Int32Array(job.offsets);
  const cursor = new Int32Array(job.cursor);
  const status = new Uint8Array(job.status);
  const leaves = new Uint8Array(job.leaves);
  const n = offsets.length - 1;
  const keys = keysOf(job.jwks);
  // Records share a handful of headers: resolve each header to its key once.
  const keyByHeader = new Map<string, KeyObject | null>();
  const keyFor = (header: string): KeyObject | null => {
    if (!keyByHeader.has(header)) {
      let key: KeyObject | null = null;
      try {
        const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string; kid?: string };
        key = (parsed.alg === 'EdDSA' && parsed.kid && keys.get(parsed.kid)) || null;
      } catch {
        // an unreadable header names no key
      }
      keyByHeader.set(header, key);
    }
    return keyByHeader.get(header) ?? null;
  };
  let lastHeader: Buffer | null = null;
  let lastKey: KeyObject | null = null;
  // 0x00 ‖ payload, decoded into one scratch buffer and hashed in place.
  let scratch = Buffer.alloc(4096);
  // A complete chunk's subtree, hashed pairwise in place: 0x01 ‖ left ‖ right.
  const subtrees = Buffer.from(job.subtrees);
  const level = Buffer.alloc(CHUNK * 32);
  const node = Buffer.alloc(65, 1);
  const subtreeRoot = (start: number) => {
    level.set(leaves.subarray(start * 32, (start + CHUNK) * 32));
    for (let width = CHUNK; width > 1; width >>= 1) {
      for (let j = 0; j < width; j += 2) {
        level.copy(node, 1, j * 32, j * 32 + 64);
        level.set(sha256(node), (j >> 1) * 32);
      }
    }
    subtrees.set(level.subarray(0, 32), (start / CHUNK) * 32);
  };
  for (let start = Atomics.add(cursor, 0, CHUNK); start < n; start = Atomics.add(cursor, 0, CHUNK)) {
    const end = Math.min(n, start + CHUNK);
    for (let i = start; i < end; i++) {
      const from = offsets[i]!;
      const to = offsets[i + 1]!;
      const firstDot = bytes.indexOf(0x2e, from);
      const lastDot = bytes.lastIndexOf(0x2e, to - 1);
      if (firstDot < from || lastDot <= firstDot || lastDot >= to) {
        // Not header.payload.signature: refused (its leaf stays zero; the claim error ends the check).
        status[i] = Status.ClaimMismatch | Status.BadSignature;
        continue;
      }
      let flags = 0;
      const payload = bytes.toString('latin1', firstDot + 1, lastDot);
      if (payload.length + 1 > scratch.length) scratch = Buffer.alloc(payload.length * 2);
      const size = scratch.write(payload, 1, 'base64url');
      leaves.set(sha256(scratch.subarray(0, size + 1)), i * 32);
      let claims: { log?: unknown; index?: unknown } | null = null;
      try {
        claims = JSON.parse(scratch.toString('utf8', 1, size + 1)) as { log?: unknown; index?: unknown };
      } catch {
        // not JSON: a claim mismatch
      }
      if (!claims || claims.log !== job.log || claims.index !== job.offset + i) flags |= Status.ClaimMismatch;
      if (job.jwks) {
        let ok = false;
        try {
          // Consecutive records almost always share their header: compare bytes before making a string.
          if (lastHeader === null || lastHeader.length !== firstDot - from || lastHeader.compare(bytes, from, firstDot) !== 0) {
            const header = Buffer.from(bytes.subarray(from, firstDot));
            lastHeader = header;
            lastKey = keyFor(header.toString('latin1'));
          }
          ok = !!lastKey && verify(null, bytes.subarray(from, lastDot), lastKey, Buffer.from(bytes.toString('latin1', lastDot + 1, to), 'base64url'));
        } catch {
          // a malformed signature does not verify
        }
        if (!ok) flags |= Status.BadSignature;
      }
      status[i] = flags;
    }
    if (end - start === CHUNK) subtreeRoot(start);
  }
}
