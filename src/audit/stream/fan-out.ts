/**
 * A log's live subscribers (issue 19): the log's sequencer — the one writer
 * of the log, so the one place that knows the instant a record commits —
 * holds each subscriber's stream and writes every committed record to it,
 * with the new checkpoint after each group commit. No subscriber polls D1;
 * one commit is one write per subscriber (docs/decisions.md, "Live watch").
 *
 * Resuming without a gap or a duplicate: a subscriber is registered before
 * its backfill (the records from `from` that are already in D1) starts;
 * records published meanwhile are held; each subscriber remembers the next
 * index it is owed and skips anything below it. Stream events are
 * Server-Sent Events: `record` (id = the record's index, so `Last-Event-ID`
 * resumes), `checkpoint`, and a final `end` that says why the stream ends and
 * where to resume.
 *
 * A budget (issue 29): one tenant must not be able to exhaust the isolate
 * every tenant shares. So there are at most so many subscribers per
 * principal, per log and per isolate (`admit` refuses beyond them); each
 * subscriber's unread bytes are bounded (a reader that falls further behind
 * is ended with `end: lagging`, and a stream that cannot even take that is
 * cut); and a subscriber's authority is re-checked on every heartbeat and
 * after every record that may change it, and ends with its token.
 */
import type { Env } from '../../env';
import { listRecords } from '../log/reader';
import { jwsPayload } from '../format/jws';
import type { EventSink } from './sink';

export interface StreamFilter {
  outcome?: string;
  actorType?: string;
  /** An action, or a prefix ending in `*` (`vm.memory.*`). */
  action?: string;
}

import type { Published } from '../log/extensions';

export type { Published };

/** Who holds a stream: re-checked for as long as it is open. */
export interface StreamAuthority {
  principal: string;
  kid: string;
  /** When the token that opened the stream expires, in ms on this runtime's clock. */
  expiresAt: number;
}

/** Why a stream ended, as its final `end` event says. */
export type EndReason = 'lagging' | 'token_expired' | 'revoked' | 'reset';

export interface StreamLimits {
  perPrincipal: number;
  perLog: number;
  perIsolate: number;
  /** Unread bytes a subscriber may have queued before it is ended as lagging. */
  queueBytes: number;
  /** Between heartbeats (and authority re-checks). */
  heartbeatMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { perPrincipal: 8, perLog: 64, perIsolate: 256, queueBytes: 128 * 1024, heartbeatMs: 15_000 };

/** The limits, with any the environment overrides (`STREAM_LIMITS`: JSON, e.g. `{"perLog": 4}`). */
export function streamLimits(env: Pick<Env, 'STREAM_LIMITS'>): StreamLimits {
  if (!env.STREAM_LIMITS) return DEFAULT_STREAM_LIMITS;
  const given = JSON.parse(env.STREAM_LIMITS) as Partial<StreamLimits>;
  const valid = Object.entries(given).filter(([name, value]) => name in DEFAULT_STREAM_LIMITS && Number.isInteger(value) && (value as number) > 0);
  return { ...DEFAULT_STREAM_LIMITS, ...Object.fromEntries(valid) };
}

export type Refusal = { ok: false; limit: 'principal' | 'log' | 'isolate'; max: number };
/** An admitted subscriber: `ended` settles when its stream is over, however it ended. */
export type Admission = { ok: true; ended: Promise<void> } | Refusal;

/** Checks a subscriber's authority again: the principals (of those asked) that may still read the log. */
export type AuthorityCheck = (authorities: StreamAuthority[]) => Promise<Set<string>>;

interface Subscriber {
  /** The response being served (audit/stream/sink.ts): a write resolves once the client's side has taken it. */
  sink: EventSink;
  filter: StreamFilter;
  authority: StreamAuthority;
  /** The next index this subscriber is owed. */
  next: number;
  /** Live records published during its backfill, sent when it ends. */
  held: Published[] | null;
  heldBytes: number;
  /** Bytes written and not yet taken by the reader. */
  queued: number;
  /** The last write: once it settles, the reader holds everything before it. */
  lastWrite: Promise<void>;
  /** Set once the stream is ending: nothing more is written. */
  ended: boolean;
  expiry: ReturnType<typeof setTimeout>;
  /** Settles `ended`. */
  gone: () => void;
}

const encoder = new TextEncoder();

/** Subscribers open in this isolate, over every log (the isolate's memory is what they share). */
let openInIsolate = 0;

/** How long an ended stream may take to hand its last bytes to its reader before it is cut. */
const FAREWELL_MS = 10_000;

/** Records read from D1 per backfill step. */
const BACKFILL_PAGE = 100;

/** Actions whose allowed records may take a subscriber's authority away: re-check at once. */
const AUTHORITY_ACTIONS = /^(toolstack\.(revoke|update)|tenant\.(update|delete)|recovery\.(apply|revert)|change\.approve|admin\.(roles|disable))$/;

export function matches(filter: StreamFilter, { record }: Pick<Published, 'record'>): boolean {
  const action = filter.action;
  return (
    (!filter.outcome || record.outcome === filter.outcome) &&
    (!filter.actorType || record.actor.type === filter.actorType) &&
    (!action || (action.endsWith('*') ? record.action.startsWith(action.slice(0, -1)) : record.action === action))
  );
}

const recordEvent = ({ index, jws }: Published) => `id: ${index}\nevent: record\ndata: ${JSON.stringify({ index, jws })}\n\n`;

export class LogFanOut {
  readonly #subscribers = new Set<Subscriber>();
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #checkpoint: { size: number; note: string } | null = null;
  #limits: StreamLimits = DEFAULT_STREAM_LIMITS;
  #checkAuthority: AuthorityCheck | null = null;

  get size(): number {
    return this.#subscribers.size;
  }

  /** Subscribers open in this isolate, over every log. */
  static get openInIsolate(): number {
    return openInIsolate;
  }

  /**
   * A new subscriber from index `from`, within the budget, its events (SSE
   * bytes) written to `sink`; or which limit refuses it.
   */
  subscribe(env: Env, log: string, from: number, filter: StreamFilter, authority: StreamAuthority, checkAuthority: AuthorityCheck, sink: EventSink): Admission {
    this.#limits = streamLimits(env);
    const limits = this.#limits;
    this.#checkAuthority = checkAuthority;
    const own = [...this.#subscribers].filter((s) => s.authority.principal === authority.principal).length;
    if (own >= limits.perPrincipal) return { ok: false, limit: 'principal', max: limits.perPrincipal };
    if (this.#subscribers.size >= limits.perLog) return { ok: false, limit: 'log', max: limits.perLog };
    if (openInIsolate >= limits.perIsolate) return { ok: false, limit: 'isolate', max: limits.perIsolate };

    let gone = () => {};
    const ended = new Promise<void>((resolve) => (gone = resolve));
    const subscriber: Subscriber = {
      gone,
      sink,
      filter,
      authority,
      next: from,
      held: [],
      heldBytes: 0,
      queued: 0,
      lastWrite: Promise.resolve(),
      ended: false,
      expiry: setTimeout(() => this.#end(subscriber, 'token_expired'), Math.max(0, authority.expiresAt - Date.now())),
    };
    this.#subscribers.add(subscriber);
    openInIsolate++;
    this.#heartbeat ??= setInterval(() => void this.#beat(), limits.heartbeatMs);
    void this.#backfill(env, log, subscriber);
    return { ok: true, ended };
  }

  /** Sends each subscriber the records one group commit added, then the checkpoint that covers them. */
  publish(records: Published[], checkpoint: { size: number; note: string }): void {
    this.#checkpoint = checkpoint;
    for (const subscriber of this.#subscribers) {
      if (subscriber.held) {
        subscriber.held.push(...records);
        subscriber.heldBytes += records.reduce((sum, p) => sum + p.jws.length, 0);
        // Held records are memory too: a backfill that cannot keep up ends like any slow reader.
        if (subscriber.heldBytes > this.#limits.queueBytes) this.#end(subscriber, 'lagging');
      } else this.#send(subscriber, records, checkpoint);
    }
    if (records.some((p) => p.record.outcome === 'allowed' && AUTHORITY_ACTIONS.test(p.record.action))) void this.recheck();
  }

  /** Ends every stream whose principal may no longer read the log. */
  async recheck(): Promise<void> {
    const open = [...this.#subscribers].filter((s) => !s.ended);
    if (open.length === 0 || !this.#checkAuthority) return;
    const still = await this.#checkAuthority(open.map((s) => s.authority)).catch(() => null);
    if (!still) return; // D1 unreachable: the next heartbeat asks again
    for (const subscriber of open) {
      if (subscriber.ended) continue;
      // The expiry timer and a check can race at `exp`: an expired token is `token_expired`, never `revoked`.
      if (subscriber.authority.expiresAt <= Date.now()) this.#end(subscriber, 'token_expired');
      else if (!still.has(subscriber.authority.principal)) this.#end(subscriber, 'revoked');
    }
  }

  async #beat(): Promise<void> {
    for (const subscriber of this.#subscribers) if (!subscriber.held) this.#write(subscriber, ': heartbeat\n\n');
    await this.recheck();
  }

  async #backfill(env: Env, log: string, subscriber: Subscriber): Promise<void> {
    try {
      this.#write(subscriber, ': custodes audit stream\nretry: 1000\n\n');
      // Everything already in D1 from `next` on, at the reader's pace; live records wait in `held` meanwhile.
      while (!subscriber.ended) {
        const { records } = await listRecords(env, log, subscriber.next, BACKFILL_PAGE);
        if (records.length === 0 || subscriber.ended) break;
        const events = this.#events(
          subscriber,
          records.map(({ index, jws }) => ({ index, jws, record: jwsPayload<Published['record']>(jws) })),
          null,
        );
        if (!events) {
          this.#drop(subscriber);
          return;
        }
        // In slices of a quarter of the budget, each written once the reader has taken the last.
        let slice = '';
        for (const event of events) {
          slice += event;
          if (slice.length < this.#limits.queueBytes / 4) continue;
          this.#write(subscriber, slice);
          slice = '';
          if (!(await this.#drained(subscriber))) return this.#end(subscriber, 'lagging');
        }
        if (slice) this.#write(subscriber, slice);
        if (!(await this.#drained(subscriber))) return this.#end(subscriber, 'lagging');
      }
      if (subscriber.ended) return;
      const held = subscriber.held ?? [];
      subscriber.held = null;
      this.#send(subscriber, held, this.#checkpoint);
    } catch {
      this.#drop(subscriber);
    }
  }

  /** Waits until the reader has taken half the budget back; false if it does not within the farewell time. */
  async #drained(subscriber: Subscriber): Promise<boolean> {
    if (subscriber.queued <= this.#limits.queueBytes / 2) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), FAREWELL_MS)));
    const drained = await Promise.race([subscriber.lastWrite.then(() => true), timeout]);
    clearTimeout(timer);
    return drained && !subscriber.ended;
  }

  /**
   * The events owed to a subscriber from `records` (advancing what it is owed),
   * and the checkpoint once it holds every record the checkpoint covers; null
   * on a gap (the client resumes from what it has).
   */
  #events(subscriber: Subscriber, records: Published[], checkpoint: { size: number; note: string } | null): string[] | null {
    const events: string[] = [];
    for (const published of records) {
      if (published.index < subscriber.next) continue; // sent already (the backfill and a live commit overlap)
      if (published.index > subscriber.next) return null;
      subscriber.next = published.index + 1;
      if (matches(subscriber.filter, published)) events.push(recordEvent(published));
    }
    if (checkpoint && checkpoint.size === subscriber.next) events.push(`event: checkpoint\ndata: ${JSON.stringify(checkpoint)}\n\n`);
    return events;
  }

  /** Live: one commit's events, unless the reader is so far behind that they would exceed its budget. */
  #send(subscriber: Subscriber, records: Published[], checkpoint: { size: number; note: string } | null): void {
    const events = this.#events(subscriber, records, checkpoint);
    if (!events) {
      this.#drop(subscriber);
      return;
    }
    const text = events.join('');
    if (!text) return;
    // A reader with nothing unread always takes one commit (a group is bounded); beyond that, the budget.
    if (subscriber.queued > 0 && subscriber.queued + text.length > this.#limits.queueBytes) {
      this.#end(subscriber, 'lagging');
      return;
    }
    this.#write(subscriber, text);
  }

  /** Queues `text` for the reader, counting it until the reader takes it; after the stream ended, only its `final` event. */
  #write(subscriber: Subscriber, text: string, final = false): void {
    if (subscriber.ended && !final) return;
    const bytes = encoder.encode(text);
    subscriber.queued += bytes.length;
    subscriber.lastWrite = subscriber.sink.write(bytes).then(
      (taken) => {
        if (taken) subscriber.queued -= bytes.length;
        else this.#drop(subscriber); // the client went away
      },
      () => this.#drop(subscriber), // the sink is gone (the Worker's request ended)
    );
  }

  /**
   * Ends a stream with a last event saying why and where to resume. The
   * subscriber keeps its place in the budget until its reader has taken that
   * event, or is cut after the farewell time: an ended stream still holds memory.
   */
  #end(subscriber: Subscriber, reason: EndReason): void {
    if (subscriber.ended) return;
    subscriber.ended = true;
    subscriber.held = null;
    clearTimeout(subscriber.expiry);
    this.#write(subscriber, `event: end\ndata: ${JSON.stringify({ reason, resumeFrom: subscriber.next })}\n\n`, true);
    const farewell = setTimeout(() => this.#drop(subscriber, true), FAREWELL_MS);
    void subscriber.sink.close().then(
      () => {
        clearTimeout(farewell);
        this.#drop(subscriber);
      },
      () => this.#drop(subscriber),
    );
  }

  /** Forgets a subscriber; `cut` discards whatever its reader has not taken. */
  #drop(subscriber: Subscriber, cut = false): void {
    if (!this.#subscribers.delete(subscriber)) return;
    openInIsolate--;
    subscriber.gone();
    subscriber.ended = true;
    subscriber.held = null;
    clearTimeout(subscriber.expiry);
    if (cut) void subscriber.sink.abort('the reader did not take its last events').catch(() => undefined);
    else void subscriber.sink.close().catch(() => undefined);
    if (this.#subscribers.size === 0 && this.#heartbeat) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = null;
    }
  }

  /** Ends every stream (emulator reset). */
  closeAll(): void {
    for (const subscriber of [...this.#subscribers]) this.#end(subscriber, 'reset');
  }
}
