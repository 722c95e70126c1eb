/**
 * LogSequencer: one Durable Object per log, the single writer of that log's
 * tail. It gives every append the next index, signs the record, extends the
 * Merkle frontier, signs a checkpoint, and commits the request's data writes +
 * record + new tree nodes + head in ONE D1 batch (docs/design.md §5).
 * Everything else a commit carries or causes comes from the features'
 * extensions (./extensions.ts), composed by the Worker's entry point
 * (src/sequencer.ts): this file knows none of them.
 *
 * Why an explicit queue: a Durable Object's input gates do not serialize
 * requests across awaits of D1, so a counter read lazily and bumped after an
 * await forks indexes under concurrency. Here appends wait in `#queue`, and a
 * single drain loop takes everything queued so far as one group commit: the
 * batch costs one D1 round trip however many appends it carries.
 * If a group's batch fails, its members are retried one by one, so a write
 * whose own guard fails is rejected alone and nothing of it is recorded; the
 * head update is guarded (`size = old size`): two live instances cannot fork the log.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../../env';
import { rejection, type CommitResult, type SequencerTimings, type WriteStatement } from './commit';
import { emptyHeadWrite, headStatements, loadHead, recordStatements, sameFrontier } from './log-store';
import type { AppendEntry, DraftedEntry, LogExtension, Published, SequencerHost, SignedCheckpoint } from './extensions';
import { appendLeaf, EMPTY_ROOT, frontierRoot, leafHash, type Frontier } from '../format/merkle';
import { signCheckpoint } from '../format/checkpoint';
import { draftTime, signRecord, type AuditRecord } from '../format/record';
import { auditSigningKey, type AuditSigningKey } from '../signing/signing-key';

interface Pending {
  entry: AppendEntry;
  /** performance.now() when it was queued. */
  queuedAt: number;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

type Committed = Extract<CommitResult, { ok: true }>;

/** Most appends one batch carries (D1 batches are bounded; so is the latency of the first waiter). */
const MAX_GROUP = 32;

export class LogSequencer extends DurableObject<Env> {
  #queue: Pending[] = [];
  #draining = false;
  #frontier: Frontier | null = null;
  #checkpoint: SignedCheckpoint | null = null;
  #log = '';
  readonly #extensions: LogExtension[] = [];
  /**
   * Whether this object's storage may hold anything: unknown until a reset looks (it may outlive an
   * eviction), none once a reset found or made it empty, yes again from an extension's first `put`
   * or alarm. Clearing storage that holds nothing took ~13 ms of a 30 ms emulator reset here
   * (issue 34), and between a tenant's tests it almost always holds nothing.
   */
  #storageMayHold: boolean | 'unknown' = 'unknown';

  /** What extensions see of this sequencer. */
  protected readonly host: SequencerHost = ((sequencer) => ({
    env: sequencer.env,
    // The object's own storage, noting whether anything is kept in it (a put, an alarm) so a reset knows.
    storage: new Proxy(sequencer.ctx.storage, {
      get(storage, name) {
        if (name === 'put' || name === 'setAlarm') sequencer.#storageMayHold = true;
        const member = Reflect.get(storage, name, storage);
        return typeof member === 'function' ? member.bind(storage) : member;
      },
    }),
    get log() {
      return sequencer.#log;
    },
    checkpoint: async () => {
      if (!sequencer.#checkpoint) await sequencer.#loadHead();
      return sequencer.#checkpoint!;
    },
    append: (log: string, entry: AppendEntry) => sequencer.append(log, entry),
  }))(this);

  /** Makes an extension for this log and takes it into every commit from now on, in the order extended. */
  protected extend<E extends LogExtension>(factory: (host: SequencerHost) => E): E {
    const extension = factory(this.host);
    this.#extensions.push(extension);
    return extension;
  }

  /** The log every call names (a Durable Object learns its name from its callers). */
  protected serve(log: string): void {
    this.#log = log;
  }

  /** Appends one record (and its writes) to `log`; resolves once committed and covered by a checkpoint. */
  append(log: string, entry: AppendEntry): Promise<CommitResult> {
    this.#log = log;
    const committed = this.#enqueue(entry);
    if (!this.#draining) void this.#drain();
    return committed;
  }

  /**
   * Appends several records at once, in this order, in one group (so one D1 batch unless the group limit splits them):
   * for records that belong together, such as an emulator reset's key activation and its own record.
   */
  appendAll(log: string, entries: AppendEntry[]): Promise<CommitResult[]> {
    this.#log = log;
    const committed = entries.map((entry) => this.#enqueue(entry));
    if (!this.#draining) void this.#drain();
    return Promise.all(committed);
  }

  /** Queues one append; the promise settles when its group has committed. */
  #enqueue(entry: AppendEntry): Promise<CommitResult> {
    return new Promise((resolve, reject) => this.#queue.push({ entry, queuedAt: performance.now(), resolve, reject }));
  }

  /** Emulator mode only (src/emulator/reset.ts): forget this log after its rows were deleted, so the next append starts it again at index 0. */
  async reset(): Promise<void> {
    this.#frontier = null;
    this.#checkpoint = null;
    for (const extension of this.#extensions) await extension.reset?.();
    if (this.#storageMayHold === 'unknown') {
      const [kept, alarm] = await Promise.all([this.ctx.storage.list({ limit: 1 }), this.ctx.storage.getAlarm()]);
      if (this.#storageMayHold === 'unknown' && kept.size === 0 && alarm === null) this.#storageMayHold = false;
    }
    if (this.#storageMayHold === false) return;
    this.#storageMayHold = false; // before the awaits: a put meanwhile marks it again
    await Promise.all([this.ctx.storage.deleteAlarm(), this.ctx.storage.deleteAll()]).catch((error: unknown) => {
      this.#storageMayHold = true; // not cleared after all
      throw error;
    });
  }

  /**
   * Emulator mode only (src/emulator/reset.ts): `clearing` empties the store, and this log starts again at index 0
   * with `entries` — all in ONE D1 batch, so a reset is all or nothing and costs one round trip where forgetting,
   * re-creating the head and appending took four.
   */
  async restart(log: string, clearing: WriteStatement[], entries: AppendEntry[]): Promise<CommitResult[]> {
    const [first, ...rest] = entries;
    if (!first) throw new Error('a restarted log begins with a record');
    await this.reset();
    this.#log = log;
    const key = await auditSigningKey(this.env.AUDIT_SIGNING_JWK);
    const head = emptyHeadWrite(log, await signCheckpoint(log, 0, EMPTY_ROOT, key));
    this.#frontier = { size: 0, hashes: [] };
    return this.appendAll(log, [{ ...first, writes: [...clearing, head, ...first.writes] }, ...rest]);
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.splice(0, MAX_GROUP);
        try {
          await this.#commitGroup(group);
        } catch (error) {
          for (const member of group) member.reject(error);
          this.#frontier = null; // re-read the head before the next commit
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #commitGroup(group: Pending[]): Promise<void> {
    const key = await auditSigningKey(this.env.AUDIT_SIGNING_JWK);
    const frontier = this.#frontier ?? (await this.#loadHead());
    const entries = group.map((m) => m.entry);
    for (const extension of this.#extensions) await extension.prepare?.(entries);
    try {
      const started = performance.now();
      const { results, timings, published } = await this.#commit(frontier, entries, key);
      for (const extension of this.#extensions) extension.committed?.();
      for (const [i, member] of group.entries()) member.resolve({ ...results[i]!, timings: { ...timings, queue: started - member.queuedAt } });
      // After the answers, never before them: the stream, alerts and witnesses add no latency to an append.
      const checkpoint = this.#checkpoint!;
      for (const extension of this.#extensions) {
        if (!extension.afterCommit) continue;
        void Promise.resolve()
          .then(() => extension.afterCommit?.(published, checkpoint))
          .catch((error: unknown) => console.error(`after commit of ${this.#log}:`, error));
      }
      return;
    } catch (error) {
      if (group.length === 1) {
        const rejected = rejection(String((error as Error).message ?? error), entries[0]!.writes);
        if (!rejected) throw error;
        // Either the member's own guard refused, or the head's did: the log moved under
        // this object (another instance, or a repair). Re-read; retry once if it moved.
        const fresh = await this.#loadHead();
        if (!sameFrontier(fresh, frontier)) return this.#commitGroup(group);
        for (const extension of this.#extensions) extension.rejected?.(entries[0]!);
        group[0]!.resolve(rejected);
        return;
      }
    }
    // Some member's writes were refused: commit one at a time so only it fails.
    this.#frontier = await this.#loadHead();
    for (const member of group) await this.#commitGroup([member]);
  }

  /** Commits entries in order after `head`; on success advances the in-memory head. */
  async #commit(
    head: Frontier,
    entries: AppendEntry[],
    key: AuditSigningKey,
  ): Promise<{ results: Committed[]; timings: Omit<SequencerTimings, 'queue'>; published: Published[] }> {
    const log = this.#log;
    const start = head.size;
    const t0 = performance.now();
    // Drafted in order: each entry sees what the entries before it leave (a write then a read of one page).
    const drafted = entries.map((entry) => {
      let found: DraftedEntry | undefined;
      for (const extension of this.#extensions) found = extension.draft?.(entry) ?? found;
      return found;
    });
    const signed = await Promise.all(
      entries.map((entry, i) => {
        const regions = drafted[i] ? { regions: drafted[i].regions } : {};
        const record: AuditRecord = { v: 1, log, index: start + i, time: new Date(draftTime(entry.draft)).toISOString(), ...entry.draft, ...regions };
        return signRecord(record, key).then((s) => ({ ...s, record }));
      }),
    );

    const db = this.env.DB;
    const statements: D1PreparedStatement[] = [];
    const writeRanges: [number, number][] = [];
    let frontier = head;
    for (const [i, entry] of entries.entries()) {
      const { jws, payload, record } = signed[i]!;
      const step = appendLeaf(frontier, leafHash(payload));
      frontier = step.frontier;
      const features = this.#extensions.map((extension) => extension.statements?.({ db, record, payload, entry }));
      for (const part of features) if (part?.beforeWrites) statements.push(...part.beforeWrites);
      const first = statements.length;
      for (const w of [...entry.writes, ...(drafted[i]?.writes ?? [])]) statements.push(db.prepare(w.sql).bind(...w.params));
      writeRanges.push([first, statements.length]);
      statements.push(...recordStatements(db, record, jws, step.completed));
      for (const part of features) if (part?.afterRecord) statements.push(...part.afterRecord);
    }
    const root = frontierRoot(frontier);
    const t1 = performance.now();
    const checkpoint = await signCheckpoint(log, frontier.size, root, key);
    const t2 = performance.now();
    statements.push(...headStatements(db, log, start, frontier, root, checkpoint, signed.at(-1)!.record.time));

    const results = await db.batch<Record<string, unknown>>(statements);
    const t3 = performance.now();
    this.#frontier = frontier;
    this.#checkpoint = { size: frontier.size, note: checkpoint };
    return {
      // Signing the records overlaps building the statements: `sign` is everything before the checkpoint.
      timings: { sign: t1 - t0, checkpoint: t2 - t1, batch: t3 - t2 },
      published: signed.map(({ jws, record }) => ({ index: record.index, jws, record })),
      results: entries.map((_, i): Committed => {
        const [from, to] = writeRanges[i]!;
        const rows = results.slice(from, to).map((r) => r.results ?? []);
        return { ok: true, log, auditIndex: start + i, jws: signed[i]!.jws, rows, ...(drafted[i] ? { regions: drafted[i].regions } : {}) };
      }),
    };
  }

  async #loadHead(): Promise<Frontier> {
    const key = await auditSigningKey(this.env.AUDIT_SIGNING_JWK);
    // A new log starts with a signed checkpoint of the empty tree.
    const head = await loadHead(this.env.DB, this.#log, await signCheckpoint(this.#log, 0, EMPTY_ROOT, key));
    this.#frontier = head.frontier;
    this.#checkpoint = { size: head.frontier.size, note: head.checkpoint };
    return head.frontier;
  }
}
