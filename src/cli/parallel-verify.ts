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
 * The chunk checker is one module (./chunk-checker.ts), run here and loaded
 * by each worker (./chunk-checker.worker.ts); it mirrors `checkRecordsHere`,
 * and test/node/verifier.test.ts holds the two to the same answers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkRecordsHere, type RecordCheck, type RecordChecker } from '../sdk/audit-verify';
import { CHUNK, checkChunks, Status, type SharedJob } from './chunk-checker';

/** Below this many records, or with no signatures to check, starting threads costs more than it saves. */
const PARALLEL_THRESHOLD = 1000;
/**
 * The worker's module beside this one: JavaScript in the bundle (scripts/build-cli.ts builds
 * both), TypeScript in a checkout run through tsx, which the worker then loads too.
 */
const WORKER_MODULE = new URL(`./chunk-checker.worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const WORKER_EXEC_ARGV = WORKER_MODULE.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [];

/**
 * Worker threads kept for the life of the process: starting one costs 70–100 ms
 * here, as much as checking a thousand records. They are unreferenced while
 * idle, so they never keep a CLI from exiting.
 *
 * Jobs overlap: each is posted to every worker at once, so a worker done with
 * its chunks of one job goes on to the next instead of waiting for the slowest
 * (a barrier per job cost up to a chunk's time, ~25 ms, at each of a log's
 * segments). A worker answers its jobs in the order it was sent them. This
 * thread joins in when told to (`here`), taking what is left of every job.
 */
class CheckerPool {
  private readonly workers: { thread: Worker; waiting: { resolve: () => void; reject: (error: Error) => void }[] }[];
  /** Jobs some worker has not finished yet, oldest first. */
  private readonly unfinished = new Set<SharedJob>();

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, () => {
      const worker = { thread: new Worker(WORKER_MODULE, { execArgv: WORKER_EXEC_ARGV }), waiting: [] as CheckerPool['workers'][number]['waiting'] };
      worker.thread
        .on('message', () => {
          worker.waiting.shift()?.resolve();
          if (worker.waiting.length === 0) worker.thread.unref();
        })
        .on('error', (error: Error) => {
          pools.delete(this.size); // a broken pool is not reused
          for (const job of worker.waiting.splice(0)) job.reject(error);
          worker.thread.unref();
        })
        .unref();
      return worker;
    });
  }

  /**
   * Runs `job` on every worker; resolves when all are done with it. With `here`, this thread takes its share too,
   * of this job and of every one still unfinished (their chunks come from each job's own counter).
   */
  async run(job: SharedJob, here: boolean): Promise<void> {
    this.unfinished.add(job);
    const done = this.workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.waiting.push({ resolve, reject });
          worker.thread.ref();
          worker.thread.postMessage(job);
        }),
    );
    if (here) for (const unfinished of this.unfinished) checkChunks(unfinished);
    try {
      await Promise.all(done);
    } finally {
      this.unfinished.delete(job);
    }
  }
}

const pools = new Map<number, CheckerPool>();
const poolOf = (workers: number): CheckerPool => {
  let pool = pools.get(workers);
  if (!pool) {
    pool = new CheckerPool(workers);
    pools.set(workers, pool);
  }
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
  for (const [i, jws] of jwsList.entries()) view.write(jws, offsets[i]!, 'latin1');
  return { bytes, offsets: offsets.buffer as SharedArrayBuffer };
}

export function parallelRecordChecker(threads = availableParallelism()): RecordChecker {
  const parallel = (records: number) => records >= PARALLEL_THRESHOLD && threads >= 2;
  /** How many records the verifier said are coming, if it said. */
  let expected: number | null = null;
  const checkRecordsInParallel: RecordChecker = async (jwsList, options): Promise<RecordCheck> => {
    const { log, jwks, offset = 0 } = options;
    // A log's short last segment too goes to the pool: this thread then helps with what the workers still have.
    if (!jwks || !parallel(expected ?? jwsList.length)) return checkRecordsHere(jwsList, options);
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
    // While more records are on their way, this thread has them to fetch and parse (a page it is slow to take delays
    // the pages after it): the workers check until the last records are here, then this thread joins them.
    await poolOf(threads - 1).run(job, expected === null || offset + n >= expected);

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
    // Chunks start at multiples of CHUNK from the first record, so their subtrees are the log's when that record's index is one.
    const subtreeBytes = new Uint8Array(job.subtrees);
    const hashes = Array.from({ length: subtreeBytes.length / 32 }, (_, i) => subtreeBytes.subarray(i * 32, i * 32 + 32));
    return { leaves, claimError, badSignatures, ...(offset % CHUNK === 0 ? { subtrees: { level: Math.log2(CHUNK), hashes } } : {}) };
  };
  // Threads start while the records are still on their way, not when the first of them is here.
  checkRecordsInParallel.expect = (records) => {
    expected = records;
    if (parallel(records)) poolOf(threads - 1);
  };
  return checkRecordsInParallel;
}
