/**
 * AuditLogSequencer: one Durable Object per log, the single writer of that
 * log's tail. It gives every append the next index, signs the record, extends
 * the Merkle frontier, signs a checkpoint, and commits the request's data
 * writes + record + new tree nodes + head in ONE D1 batch (docs/design.md §5).
 *
 * Why an explicit queue: a Durable Object's input gates do not serialize
 * requests across awaits of D1, so a counter read lazily and bumped after an
 * await forks indexes under concurrency. Here appends wait in `#queue`, and a
 * single drain loop takes everything queued so far as one group commit: the
 * batch costs one D1 round trip however many appends it carries.
 *
 * If a group's batch fails, its members are retried one by one, so a write
 * whose own guard fails is rejected alone and nothing of it is recorded. The
 * head update is itself guarded (`size = old size`), so even two live
 * instances of this object could not fork the log.
 *
 * It also follows its tenant's page heads from the records it commits, so a
 * page read or write needs no D1 read before its batch (`AppendEntry.contents`;
 * tenant/contents/content-heads.ts says why that is safe).
 */
import type { AuditedAction } from '../actions';
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../../env';
import { ASCII_NOTE_SQL, asciiNote, expectChanges, rejection, type CommitResult, type ObjectImaging, type SealOrder, type SequencerTimings, type WriteStatement } from './commit';
import { afterCommitHooks, recordStatements, type AfterCommit } from './extensions';
import { appendLeaf, EMPTY_ROOT, frontierRoot, leafHash, type Frontier, type StoredNode } from '../format/merkle';
import { signCheckpoint } from '../format/checkpoint';
import { draftTime, sessionOf, signRecord, type AuditRecord, type RecordDraft, type Region } from '../format/record';
import { auditSigningKey, type AuditSigningKey } from '../signing/signing-key';
import { newId } from '../../lib/ids';
import { configuredWitnesses, keepCosigned, submitCheckpoint, type WitnessOutcome } from '../witnessing/witnesses';
import { LogFanOut, type Published, type Refusal, type StreamAuthority, type StreamFilter } from '../stream/fan-out';
import { streamAuthorityCheck } from '../stream/authority';
import type { EventSink } from '../stream/sink';
import { refusalPolicy } from './logs';
import { chunkKey, ContentHeads, type LoadedPage } from '../../tenant/contents/content-heads';
import { chunkQuery, chunksNeeded, resolveContentOp, type ContentOp, type ResolvedContentOp } from '../../tenant/contents/content-statements';

declare module '../../env' {
  interface Env {
    /** One AuditLogSequencer per log (this file). */
    AUDIT_LOG: DurableObjectNamespace<AuditLogSequencer>;
  }
}

export interface AppendEntry {
  draft: RecordDraft;
  writes: WriteStatement[];
  /** Emulator mode only (src/emulator/faults.ts): the batch carrying this entry fails in D1, as a real D1 fault would. */
  failBatch?: boolean;
  /** Objects the writes change: imaged before and after them into the object-history index (allowed records only). */
  objects?: ObjectImaging[];
  /**
   * A page read or write whose versions this sequencer resolves from the heads it
   * follows (tenant/contents/content-heads.ts): the record names them and the batch
   * carries the read or the write, asserting them — one D1 round trip, not two.
   */
  contents?: ContentOp;
  /**
   * Other logs that must carry a notice of this record: one outbox row each,
   * in this record's batch (audit/log/notices.ts delivers them).
   */
  notify?: string[];
  /** A sealed record in `seal.log` instead of a notice there (sealedNotice below). */
  seal?: SealOrder;
}

/** A statement D1 refuses (there is no such table): the injected fault of `failBatch`. */
const FAILING_STATEMENT = 'INSERT INTO emulator_injected_audit_batch_fault VALUES (1)';

interface Pending {
  entry: AppendEntry;
  /** performance.now() when it was queued. */
  queuedAt: number;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

interface Head {
  frontier: Frontier;
}

/** Most appends one batch carries (D1 batches are bounded; so is the latency of the first waiter). */
const MAX_GROUP = 32;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

/**
 * Outsiders' refusals in the current window (see `appendRefusal`): how many
 * were recorded in full, and how many were only counted, by reason, action
 * and source address.
 */
interface RefusalWindow {
  log: string;
  /** Start of the window, ms since the epoch. */
  window: number;
  windowMs: number;
  sampled: number;
  counted: number;
  byReason: Record<string, number>;
  byAction: Record<string, number>;
  bySource: Record<string, number>;
}

/** One cosigning round (`AuditLogSequencer.cosign`): the size it asked the witnesses to cosign, and what each answered. */
export interface CosignRound {
  size: number;
  cosignatures: number;
  outcomes: WitnessOutcome[];
}

export type RefusalResult = { ok: true; log: string; auditIndex: number } | { ok: true; log: string; window: number } | Extract<CommitResult, { ok: false }>;

/** Distinct keys a summary keeps per tally (the rest are counted under `other`): a summary is bounded too. */
const MAX_TALLY_KEYS = 16;

const tally = (counts: Record<string, number>, key: string) => {
  const k = key in counts || Object.keys(counts).length < MAX_TALLY_KEYS ? key : 'other';
  counts[k] = (counts[k] ?? 0) + 1;
};

export class AuditLogSequencer extends DurableObject<Env> {
  #queue: Pending[] = [];
  #refusals: RefusalWindow | null | undefined;
  #draining = false;
  #head: Head | null = null;
  #log = '';
  /** This log's page heads, as far as loaded (tenant logs only have contents). */
  #contents = new ContentHeads();
  /** The latest signed checkpoint, for the witnesses. */
  #checkpoint: { size: number; note: string } | null = null;
  /** The cosigning round in flight, and whether the log grew while it ran. */
  #cosigning: Promise<CosignRound | null> | null = null;
  #cosignAgain = false;
  /** Live subscribers of this log (audit/stream). */
  #fanOut = new LogFanOut();
  /** This tenant log's alert rules (audit/alerts). */
  #afterCommit: AfterCommit[] | null = null;

  /** Appends one record (and its writes) to `log`; resolves once committed and covered by a checkpoint. */
  append(log: string, entry: AppendEntry): Promise<CommitResult> {
    this.#log = log;
    return new Promise((resolve, reject) => {
      this.#queue.push({ entry, queuedAt: performance.now(), resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  /**
   * A refusal of a request by someone outside this log — anonymous, or a
   * principal of another tenant (docs/decisions.md, "Flood-proof logging").
   * Per window (`AUDIT_REFUSAL_WINDOW_SECONDS`, default 60) the first
   * `AUDIT_REFUSAL_SAMPLE` (default 16) are recorded in full; the rest are
   * counted, and the count becomes one signed summary record when the window
   * ends (an alarm) or the next refusal arrives after it. So outsiders add at
   * most sample + 1 records per window to a log, however many they are, and
   * the log still says that someone knocked, how often, why and from where.
   */
  async appendRefusal(log: string, draft: RecordDraft): Promise<RefusalResult> {
    this.#log = log;
    const { sample, windowMs } = refusalPolicy(this.env);
    const now = draftTime(draft);
    const window = now - (now % windowMs);
    const open = await this.#openWindow();
    if (open && open.window !== window) await this.flushRefusals();
    const current = (this.#refusals ??= { log, window, windowMs, sampled: 0, counted: 0, byReason: {}, byAction: {}, bySource: {} });
    if (current.sampled < sample) {
      current.sampled++;
      void this.ctx.storage.put('refusals', current);
      return this.append(log, { draft, writes: [] });
    }
    current.counted++;
    tally(current.byReason, draft.reason ?? 'none');
    tally(current.byAction, draft.action);
    tally(current.bySource, draft.actor.id ?? draft.actor.ip ?? 'unknown');
    void this.ctx.storage.put('refusals', current);
    if (current.counted === 1) void this.ctx.storage.setAlarm(window + windowMs);
    return { ok: true, log, window };
  }

  /**
   * Emulator mode only (src/emulator/reset.ts): forget this log after its rows
   * were deleted, so the next append starts it again at index 0.
   */
  async reset(): Promise<void> {
    this.#head = null;
    this.#refusals = null;
    this.#contents.clear();
    this.#checkpoint = null;
    this.#fanOut.closeAll();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** Appends the summary of the counted refusals, if any (at the window's end; tests call it directly). */
  async flushRefusals(): Promise<{ summarized: number; auditIndex: number | null }> {
    await this.#openWindow();
    // Taken and cleared with no await between: a concurrent flush (the alarm, the next window's first refusal) finds nothing to summarize twice.
    const done = this.#refusals;
    this.#refusals = null; // a refusal arriving meanwhile opens a new window
    void this.ctx.storage.delete('refusals');
    if (!done || done.counted === 0) return { summarized: 0, auditIndex: null };
    this.#log = done.log;
    const result = await this.append(done.log, {
      draft: {
        requestId: newId('req'),
        actor: { type: 'system', id: 'custodes', kid: null, jti: null, ip: null },
        action: 'audit.refusals.summarize' satisfies AuditedAction,
        target: null,
        outcome: 'denied',
        reason: 'refusals_summarized',
        request: { method: 'NONE', path: '' },
        details: {
          window: { from: new Date(done.window).toISOString(), to: new Date(done.window + done.windowMs).toISOString() },
          recordedInFull: done.sampled,
          counted: done.counted,
          byReason: done.byReason,
          byAction: done.byAction,
          bySource: done.bySource,
        },
      },
      writes: [],
    });
    if (!result.ok) throw new Error(`refusal summary for ${done.log} failed: ${result.message}`);
    return { summarized: done.counted, auditIndex: result.auditIndex };
  }

  /**
   * A live stream of `log` from index `from` (Server-Sent Events; audit/stream),
   * written into `sink`: the records already committed, then each one as it
   * commits, with the checkpoint after each group. Answers a refusal at once,
   * or (after `sink.opened()`) once the stream has ended.
   */
  async follow(log: string, from: number, filter: StreamFilter, authority: StreamAuthority, sink: EventSink): Promise<Refusal | { ok: true }> {
    this.#log = log;
    const admission = this.#fanOut.subscribe(this.env, log, from, filter, authority, streamAuthorityCheck(this.env, log), sink);
    if (!admission.ok) return admission;
    sink.opened();
    // Pending until the stream is over: the caller's request, and its sink, live as long as this call.
    await admission.ended;
    return { ok: true };
  }
  /**
   * Asks the configured witnesses (env `AUDIT_WITNESSES`) to cosign the
   * latest checkpoint of `log`, and keeps what they cosign
   * (audit/witnessing/witnesses.ts). One round at a time: a call during a
   * round waits for it, and one more round runs if the log grew meanwhile.
   * Started after every commit and by readers of the cosigned checkpoint;
   * a witness that is down fails its part of the round, and the next round
   * asks it again.
   */
  cosign(log: string): Promise<CosignRound | null> {
    this.#log = log;
    if (this.#cosigning) {
      this.#cosignAgain = true;
      return this.#cosigning;
    }
    this.#cosigning = (async () => {
      let round: CosignRound | null = null;
      do {
        this.#cosignAgain = false;
        round = await this.#cosignRound();
      } while (this.#cosignAgain);
      return round;
    })().finally(() => {
      this.#cosigning = null;
    });
    return this.#cosigning;
  }

  async #cosignRound(): Promise<CosignRound | null> {
    const witnesses = configuredWitnesses(this.env);
    if (witnesses.length === 0) return null;
    if (!this.#checkpoint) await this.#loadHead();
    const { size, note } = this.#checkpoint!;
    if (size === 0) return null;
    // The size each witness cosigned last, as far as this log knows (it tells us when we are wrong).
    const known = (await this.ctx.storage.get<Record<string, number>>('witness-sizes')) ?? {};
    const outcomes = await Promise.all(
      witnesses.map((w): Promise<WitnessOutcome> | WitnessOutcome =>
        known[w.vkey] === size ? { witness: w.key.name, ok: true, size, cosignature: null } : submitCheckpoint(this.env, this.#log, w, note, size, known[w.vkey] ?? 0),
      ),
    );
    const fresh = outcomes.flatMap((o) => (o.ok && o.cosignature ? [o.cosignature] : []));
    witnesses.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.ok) known[w.vkey] = size;
      else if (o.size !== undefined) known[w.vkey] = o.size;
    });
    await this.ctx.storage.put('witness-sizes', known);
    const cosignatures = fresh.length > 0 ? await keepCosigned(this.env, this.#log, size, note, fresh) : outcomes.filter((o) => o.ok).length;
    return { size, cosignatures, outcomes };
  }

  /**
   * The end of a window. The alarm may belong to a window already summarized
   * by the next one's first refusal; it must not cut that next window short,
   * or its sample would start again and the log grow past sample + 1.
   */
  override async alarm(): Promise<void> {
    const open = await this.#openWindow();
    if (!open) return;
    const end = open.window + open.windowMs;
    if (Date.now() < end) await this.ctx.storage.setAlarm(end);
    else await this.flushRefusals();
  }

  /** The window being counted, read from storage once per instance (it outlives an eviction). */
  async #openWindow(): Promise<RefusalWindow | null> {
    if (this.#refusals === undefined) this.#refusals = (await this.ctx.storage.get<RefusalWindow>('refusals')) ?? null;
    return this.#refusals;
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
          this.#head = null; // re-read the head before the next commit
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #commitGroup(group: Pending[]): Promise<void> {
    const key = await auditSigningKey(this.env.AUDIT_SIGNING_JWK);
    const head = this.#head ?? (await this.#loadHead());
    await this.#loadChunks(group.map((m) => m.entry));
    try {
      const started = performance.now();
      const { results, timings, published } = await this.#commit(head, group.map((m) => m.entry), key);
      group.forEach((member, i) => member.resolve({ ...results[i]!, timings: { ...timings, queue: started - member.queuedAt } }));
      if (this.#fanOut.size > 0) this.#fanOut.publish(published, this.#checkpoint!);
      // Alerts after the answers too: a webhook's speed never holds up an append.
      // The features' after-commit hooks (audit/log/extensions.ts: tenant alerts), made once for this log.
      for (const hook of (this.#afterCommit ??= afterCommitHooks())) void hook(this.env, this.#log, published).catch((error: unknown) => console.error(`after commit of ${this.#log}:`, error));
      // After the answers, never before them: witnesses add no latency to an append.
      if (configuredWitnesses(this.env).length > 0) void this.cosign(this.#log).catch(() => null);
      return;
    } catch (error) {
      if (group.length === 1) {
        const rejected = rejection(String((error as Error).message ?? error));
        if (!rejected) throw error;
        // Either the member's own guard refused, or the head's did: the log moved under
        // this object (another instance, or a repair). Re-read; retry once if it moved.
        const fresh = await this.#loadHead();
        if (!sameHead(fresh, head)) return this.#commitGroup(group);
        // A content operation refused: the heads it was resolved from may be stale; read them again next time.
        const contents = group[0]!.entry.contents;
        if (contents) this.#contents.forget(contents.space, contents.id);
        group[0]!.resolve(rejected);
        return;
      }
    }
    // Some member's writes were refused: commit one at a time so only it fails.
    this.#head = await this.#loadHead();
    for (const member of group) await this.#commitGroup([member]);
  }

  /** Commits entries in order after `head`; on success advances the in-memory head. */
  async #commit(head: Head, entries: AppendEntry[], key: AuditSigningKey): Promise<{ results: Extract<CommitResult, { ok: true }>[]; timings: Omit<SequencerTimings, 'queue'>; published: Published[] }> {
    const log = this.#log;
    const start = head.frontier.size;
    const t0 = performance.now();
    // Content operations resolved in order: each sees the heads as the entries before it leave them.
    const heads = this.#contents.draft();
    const resolved = entries.map((entry): ResolvedContentOp | null => {
      const allowed = entry.draft.outcome === 'allowed';
      const op = entry.contents && allowed ? (resolveContentOp(entry.contents, heads) ?? null) : null;
      if (entry.contents && allowed && !op) throw new Error(`content heads of ${entry.contents.id} not loaded`);
      if (allowed) heads.apply(op?.regions ?? entry.draft.regions ?? []);
      return op;
    });
    const signed = await Promise.all(
      entries.map((entry, i) => {
        const record: AuditRecord = { v: 1, log, index: start + i, time: new Date(draftTime(entry.draft)).toISOString(), ...entry.draft, ...(resolved[i] ? { regions: resolved[i].regions } : {}) };
        return signRecord(record, key).then((s) => ({ ...s, record }));
      }),
    );

    const db = this.env.DB;
    const statements: D1PreparedStatement[] = [];
    const writeRanges: [number, number][] = [];
    let frontier = head.frontier;
    for (const [i, entry] of entries.entries()) {
      const { jws, payload, record } = signed[i]!;
      const step = appendLeaf(frontier, leafHash(payload));
      frontier = step.frontier;
      const objects = record.outcome === 'allowed' ? (entry.objects ?? []) : [];
      for (const o of objects) {
        statements.push(db.prepare(`INSERT INTO object_history (log, audit_index, object, before) VALUES (?, ?, ?, (${o.image.sql}))`).bind(log, record.index, o.object, ...o.image.params));
      }
      const first = statements.length;
      for (const w of [...entry.writes, ...(resolved[i]?.statements ?? [])]) statements.push(db.prepare(w.sql).bind(...w.params));
      writeRanges.push([first, statements.length]);
      for (const o of objects) {
        statements.push(db.prepare(`UPDATE object_history SET after = (${o.image.sql}) WHERE log = ? AND audit_index = ? AND object = ?`).bind(...o.image.params, log, record.index, o.object));
      }
      statements.push(
        db
          .prepare('INSERT INTO audit_records (log, idx, jws, time, action, actor_id, outcome, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .bind(log, record.index, jws, record.time, record.action, record.actor.id, record.outcome, sessionOf(record.actor)),
        insertNodes(db, log, step.completed),
      );
      // What features commit with the record (audit/log/extensions.ts): the notice outbox, the flow index, seals.
      statements.push(...recordStatements({ db, record, payload, entry }));
      if (entry.failBatch) statements.push(db.prepare(FAILING_STATEMENT));
    }
    const root = frontierRoot(frontier);
    const t1 = performance.now();
    const checkpoint = await signCheckpoint(log, frontier.size, root, key);
    const t2 = performance.now();
    const assertion = expectChanges('audit head');
    statements.push(
      db
        .prepare(`UPDATE audit_logs SET size = ?, root = ?, frontier = ?, checkpoint = ${ASCII_NOTE_SQL}, updated_at = ? WHERE log = ? AND size = ?`)
        .bind(frontier.size, hex(root), JSON.stringify(frontier.hashes.map(hex)), asciiNote(checkpoint), signed.at(-1)!.record.time, log, start),
      db.prepare(assertion.sql).bind(...assertion.params),
    );

    const results = await db.batch(statements);
    const t3 = performance.now();
    this.#head = { frontier };
    this.#checkpoint = { size: frontier.size, note: checkpoint };
    heads.commit();
    return {
      // Signing the records overlaps building the statements: `sign` is everything before the checkpoint.
      timings: { sign: t1 - t0, checkpoint: t2 - t1, batch: t3 - t2 },
      published: signed.map(({ jws, record }) => ({ index: record.index, jws, record })),
      results: entries.map((_, i): Extract<CommitResult, { ok: true }> => {
        const [from, to] = writeRanges[i]!;
        const rows = results.slice(from, to).map((r) => (r.results ?? []) as Record<string, unknown>[]);
        return { ok: true, log, auditIndex: start + i, jws: signed[i]!.jws, rows, ...(resolved[i] ? { regions: resolved[i].regions } : {}) };
      }),
    };
  }

  /** Reads from D1, in one round trip, the page-head chunks the group's content operations need and this object does not hold. */
  async #loadChunks(entries: AppendEntry[]): Promise<void> {
    const missing = new Map<string, { space: ContentOp['space']; id: string; chunk: number }>();
    for (const { contents } of entries) {
      if (!contents) continue;
      for (const chunk of chunksNeeded(contents)) {
        if (!this.#contents.touch(contents.space, contents.id, chunk)) missing.set(chunkKey(contents.space, contents.id, chunk), { space: contents.space, id: contents.id, chunk });
      }
    }
    if (missing.size === 0) return;
    const wanted = [...missing.values()];
    const db = this.env.DB;
    const results = await db.batch(wanted.map(({ space, id, chunk }) => {
      const q = chunkQuery(space, id, chunk);
      return db.prepare(q.sql).bind(...q.params);
    }));
    // chunkQuery selects exactly a LoadedPage's columns; D1 types its rows as records of unknowns.
    wanted.forEach(({ space, id, chunk }, i) => this.#contents.load(space, id, chunk, results[i]!.results as unknown as LoadedPage[]));
  }

  async #loadHead(): Promise<Head> {
    const db = this.env.DB;
    const key = await auditSigningKey(this.env.AUDIT_SIGNING_JWK);
    // A new log starts with a signed checkpoint of the empty tree.
    const emptyCheckpoint = await signCheckpoint(this.#log, 0, EMPTY_ROOT, key);
    await db
      .prepare('INSERT INTO audit_logs (log, size, root, frontier, checkpoint, updated_at) VALUES (?, 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .bind(this.#log, hex(EMPTY_ROOT), '[]', emptyCheckpoint, new Date().toISOString())
      .run();
    const row = await db.prepare('SELECT size, frontier, checkpoint FROM audit_logs WHERE log = ?').bind(this.#log).first<{ size: number; frontier: string; checkpoint: string }>();
    const head = { frontier: { size: row!.size, hashes: (JSON.parse(row!.frontier) as string[]).map(unhex) } };
    this.#head = head;
    this.#checkpoint = { size: row!.size, note: row!.checkpoint };
    return head;
  }
}

function sameHead(a: Head, b: Head): boolean {
  return a.frontier.size === b.frontier.size && a.frontier.hashes.every((h, i) => hex(h) === hex(b.frontier.hashes[i] ?? new Uint8Array()));
}

function insertNodes(db: D1Database, log: string, nodes: StoredNode[]): D1PreparedStatement {
  const values = nodes.map(() => '(?, ?, ?, ?)').join(', ');
  return db
    .prepare(`INSERT INTO audit_nodes (log, level, idx, hash) VALUES ${values}`)
    .bind(...nodes.flatMap((n) => [log, n.level, n.index, hex(n.hash)]));
}
