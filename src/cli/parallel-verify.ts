/**
 * The record checker of audit-verify.ts on every core (node:worker_threads).
 *
 * Ed25519 verification is ~95% of a full check and independent per record, so
 * the cost to beat is everything around it. Hence:
 *  - the records are packed once into a SharedArrayBuffer (ASCII bytes plus an
 *    offset table) that every thread reads in place — no per-thread copies,
 *    no string slicing: a signing input is a zero-copy view of the buffer;
 *  - threads take 256-record chunks from a shared counter (work stealing), so
 *    none idles while another still has work;
 *  - this thread works too, and the workers are kept for later checks
 *    (starting one takes 70–100 ms here, the time of ~1,000 verifications).
 * Results go to shared arrays: a status byte and a 32-byte leaf per record,
 * and the Merkle subtree root of each complete chunk, so that the tree too is
 * mostly hashed in parallel (chunks are aligned: CHUNK is a power of two).
 *
 * The chunk checker is plain JavaScript in a string, evaluated both here and
 * in each worker (no TypeScript loader in workers); it mirrors
 * `checkRecordsHere`, and test/node/verifier.test.ts holds the two to the same
 * answers.
 */
import * as nodeCrypto from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkRecordsHere, type PublicJwk, type RecordCheck, type RecordChecker } from '../sdk/audit-verify';

/** Below this many records, or with no signatures to check, starting threads costs more than it saves. */
const PARALLEL_THRESHOLD = 1000;
/** Records per grab from the shared counter: small enough to balance, large enough to keep contention nil. */
const CHUNK = 256;

/** Bits of a record's status byte. */
const Status = { BadSignature: 1, ClaimMismatch: 2 } as const;

interface SharedJob {
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

/**
 * `(crypto) => (job) => void`: checks chunks of `job` until none is left.
 * A record's claim check is the same as checkRecordsHere's: its payload names
 * this log and its own position.
 */
const CHECKER_SOURCE = `(crypto) => {
  const { createHash, createPublicKey, verify } = crypto;
  const sha256 = typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => createHash('sha256').update(data).digest();
  return function checkChunks(job) {
    const bytes = Buffer.from(job.bytes);
    const offsets = new Int32Array(job.offsets);
    const cursor = new Int32Array(job.cursor);
    const status = new Uint8Array(job.status);
    const leaves = new Uint8Array(job.leaves);
    const n = offsets.length - 1;
    const keys = new Map();
    for (const k of job.jwks || []) {
      if (k.kid && k.kty === 'OKP' && k.crv === 'Ed25519' && k.x) {
        keys.set(k.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' }));
      }
    }
    // Records share a handful of headers: resolve each header to its key once.
    const keyByHeader = new Map();
    const keyFor = (header) => {
      if (!keyByHeader.has(header)) {
        let key = null;
        try {
          const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
          key = (parsed.alg === 'EdDSA' && keys.get(parsed.kid)) || null;
        } catch {}
        keyByHeader.set(header, key);
      }
      return keyByHeader.get(header);
    };
    let lastHeader = null;
    let lastKey = null;
    // 0x00 ‖ payload, decoded into one scratch buffer and hashed in place.
    let scratch = Buffer.alloc(4096);
    // A complete chunk's subtree, hashed pairwise in place: 0x01 ‖ left ‖ right.
    const subtrees = Buffer.from(job.subtrees);
    const level = Buffer.alloc(${CHUNK} * 32);
    const node = Buffer.alloc(65, 1);
    const subtreeRoot = (start) => {
      level.set(leaves.subarray(start * 32, (start + ${CHUNK}) * 32));
      for (let width = ${CHUNK}; width > 1; width >>= 1) {
        for (let j = 0; j < width; j += 2) {
          level.copy(node, 1, j * 32, j * 32 + 64);
          level.set(sha256(node), (j >> 1) * 32);
        }
      }
      subtrees.set(level.subarray(0, 32), (start / ${CHUNK}) * 32);
    };
    for (let start = Atomics.add(cursor, 0, ${CHUNK}); start < n; start = Atomics.add(cursor, 0, ${CHUNK})) {
      const end = Math.min(n, start + ${CHUNK});
      for (let i = start; i < end; i++) {
        const from = offsets[i], to = offsets[i + 1];
        const firstDot = bytes.indexOf(0x2e, from);
        const lastDot = bytes.lastIndexOf(0x2e, to - 1);
        if (firstDot < from || lastDot <= firstDot || lastDot >= to) {
          // Not header.payload.signature: refused (its leaf stays zero; the claim error ends the check).
          status[i] = ${Status.ClaimMismatch} | ${Status.BadSignature};
          continue;
        }
        let flags = 0;
        const payload = bytes.latin1Slice(firstDot + 1, lastDot);
        if (payload.length + 1 > scratch.length) scratch = Buffer.alloc(payload.length * 2);
        const size = scratch.write(payload, 1, 'base64url');
        leaves.set(sha256(scratch.subarray(0, size + 1)), i * 32);
        let claims = null;
        try { claims = JSON.parse(scratch.toString('utf8', 1, size + 1)); } catch {}
        if (!claims || claims.log !== job.log || claims.index !== job.offset + i) flags |= ${Status.ClaimMismatch};
        if (job.jwks) {
          let ok = false;
          try {
            // Consecutive records almost always share their header: compare bytes before making a string.
            if (lastHeader === null || lastHeader.length !== firstDot - from || lastHeader.compare(bytes, from, firstDot) !== 0) {
              lastHeader = Buffer.from(bytes.subarray(from, firstDot));
              lastKey = keyFor(lastHeader.latin1Slice());
            }
            const key = lastKey;
            ok = !!key && verify(null, bytes.subarray(from, lastDot), key, Buffer.from(bytes.latin1Slice(lastDot + 1, to), 'base64url'));
          } catch {}
          if (!ok) flags |= ${Status.BadSignature};
        }
        status[i] = flags;
      }
      if (end - start === ${CHUNK}) subtreeRoot(start);
    }
  };
}`;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const checkChunks = (${CHECKER_SOURCE})(require('node:crypto'));
parentPort.on('message', (job) => {
  checkChunks(job);
  parentPort.postMessage('done');
});
`;

type ChunkChecker = (job: SharedJob) => void;
// The very source the workers run, so the two cannot drift apart.
const checkChunksHere = (new Function(`return ${CHECKER_SOURCE}`)() as (crypto: typeof nodeCrypto) => ChunkChecker)(nodeCrypto);

/**
 * Worker threads kept for the life of the process: starting one costs 70–100 ms
 * here, as much as checking a thousand records. They are unreferenced while
 * idle, so they never keep a CLI from exiting; jobs run one at a time.
 */
class CheckerPool {
  private readonly workers: Worker[];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly size: number) {
    // execArgv []: a worker runs plain JavaScript and needs none of the parent's loaders (tsx).
    this.workers = Array.from({ length: size }, () => new Worker(WORKER_SOURCE, { eval: true, execArgv: [] }));
    for (const worker of this.workers) worker.unref();
  }

  /** Runs `job` on this thread and every worker at once; resolves when all are done. */
  run(job: SharedJob): Promise<void> {
    const run = this.queue.then(async () => {
      const done = this.workers.map((worker) => this.dispatch(worker, job));
      checkChunksHere(job);
      await Promise.all(done);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private dispatch(worker: Worker, job: SharedJob): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        worker.off('message', onMessage).off('error', onError).unref();
        if (error) reject(error);
        else resolve();
      };
      const onMessage = () => settle();
      const onError = (error: Error) => {
        pools.delete(this.size); // a broken pool is not reused
        settle(error);
      };
      worker.ref();
      worker.on('message', onMessage).on('error', onError);
      worker.postMessage(job);
    });
  }
}

const pools = new Map<number, CheckerPool>();
const poolOf = (workers: number): CheckerPool => {
  let pool = pools.get(workers);
  if (!pool) pools.set(workers, (pool = new CheckerPool(workers)));
  return pool;
};

/** Packs the (ASCII) JWS strings into one shared buffer; returns it with its offset table. */
function pack(jwsList: string[]): { bytes: SharedArrayBuffer; offsets: SharedArrayBuffer } {
  const offsets = new Int32Array(new SharedArrayBuffer((jwsList.length + 1) * 4));
  let total = 0;
  jwsList.forEach((jws, i) => {
    offsets[i] = total;
    total += jws.length;
  });
  offsets[jwsList.length] = total;
  const bytes = new SharedArrayBuffer(total);
  const view = Buffer.from(bytes);
  // latin1 keeps one byte per character, so offsets stay exact; a non-ASCII character cannot be in a valid JWS and fails its check.
  jwsList.forEach((jws, i) => view.write(jws, offsets[i]!, 'latin1'));
  return { bytes, offsets: offsets.buffer as SharedArrayBuffer };
}

export function parallelRecordChecker(threads = availableParallelism()): RecordChecker {
  return async function checkRecordsInParallel(jwsList, options): Promise<RecordCheck> {
    const { log, jwks, offset = 0 } = options;
    if (!jwks || jwsList.length < PARALLEL_THRESHOLD || threads < 2) return checkRecordsHere(jwsList, options);
    const n = jwsList.length;
    const job: SharedJob = {
      ...pack(jwsList),
      cursor: new SharedArrayBuffer(4),
      status: new SharedArrayBuffer(n),
      leaves: new SharedArrayBuffer(n * 32),
      subtrees: new SharedArrayBuffer(Math.floor(n / CHUNK) * 32),
      jwks,
      log,
      offset,
    };
    await poolOf(threads - 1).run(job);

    const status = new Uint8Array(job.status);
    const leafBytes = new Uint8Array(job.leaves);
    const leaves: Uint8Array[] = new Array(n);
    const badSignatures: number[] = [];
    let firstClaimMismatch = -1;
    for (let i = 0; i < n; i++) {
      leaves[i] = leafBytes.subarray(i * 32, i * 32 + 32);
      if (status[i]! & Status.BadSignature) badSignatures.push(offset + i);
      if (status[i]! & Status.ClaimMismatch && firstClaimMismatch < 0) firstClaimMismatch = i;
    }
    // The reference checker words the message for the first mismatching record.
    const claimError =
      firstClaimMismatch < 0
        ? null
        : (await checkRecordsHere([jwsList[firstClaimMismatch]!], { log, jwks: null, offset: offset + firstClaimMismatch })).claimError;
    // Chunks start at multiples of CHUNK, so their subtrees are aligned when the records start the log.
    const subtreeBytes = new Uint8Array(job.subtrees);
    const hashes = Array.from({ length: subtreeBytes.length / 32 }, (_, i) => subtreeBytes.subarray(i * 32, i * 32 + 32));
    return { leaves, claimError, badSignatures, ...(offset === 0 ? { subtrees: { level: Math.log2(CHUNK), hashes } } : {}) };
  };
}
