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
 * resumes) and `checkpoint`.
 */
import type { Env } from '../../env';
import type { AuditRecord } from '../format/record';
import { listRecords } from '../log/reader';

export interface StreamFilter {
  outcome?: string;
  actorType?: string;
  /** An action, or a prefix ending in `*` (`vm.memory.*`). */
  action?: string;
}

export interface Published {
  index: number;
  jws: string;
  record: Pick<AuditRecord, 'outcome' | 'action'> & { actor: { type: string } };
}

interface Subscriber {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  filter: StreamFilter;
  /** The next index this subscriber is owed. */
  next: number;
  /** Live records published during its backfill, sent when it ends. */
  held: Published[] | null;
}

const encoder = new TextEncoder();
const KEEPALIVE_MS = 15_000;

export function matches(filter: StreamFilter, { record }: Pick<Published, 'record'>): boolean {
  const action = filter.action;
  return (
    (!filter.outcome || record.outcome === filter.outcome) &&
    (!filter.actorType || record.actor.type === filter.actorType) &&
    (!action || (action.endsWith('*') ? record.action.startsWith(action.slice(0, -1)) : record.action === action))
  );
}

const decode = (jws: string): Published['record'] => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as Published['record'];

export class LogFanOut {
  readonly #subscribers = new Set<Subscriber>();
  #keepalive: ReturnType<typeof setInterval> | null = null;
  #checkpoint: { size: number; note: string } | null = null;

  get size(): number {
    return this.#subscribers.size;
  }

  /** A new subscriber from index `from`; its stream, as SSE bytes. */
  subscribe(env: Env, log: string, from: number, filter: StreamFilter): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const subscriber: Subscriber = { writer: writable.getWriter(), filter, next: from, held: [] };
    this.#subscribers.add(subscriber);
    this.#keepalive ??= setInterval(() => this.#everyone(': keepalive\n\n'), KEEPALIVE_MS);
    void this.#backfill(env, log, subscriber);
    return readable;
  }

  /** Sends each subscriber the records one group commit added, then the checkpoint that covers them. */
  publish(records: Published[], checkpoint: { size: number; note: string }): void {
    this.#checkpoint = checkpoint;
    for (const subscriber of this.#subscribers) {
      if (subscriber.held) subscriber.held.push(...records);
      else void this.#send(subscriber, records, checkpoint).catch(() => this.#drop(subscriber)); // a gap: the client resumes from what it has
    }
  }

  async #backfill(env: Env, log: string, subscriber: Subscriber): Promise<void> {
    try {
      await this.#write(subscriber, ': custodes audit stream\nretry: 1000\n\n');
      // Everything already in D1 from `next` on; live records wait in `held` meanwhile.
      for (;;) {
        const { records } = await listRecords(env, log, subscriber.next, 500);
        if (records.length === 0) break;
        await this.#send(subscriber, records.map(({ index, jws }) => ({ index, jws, record: decode(jws) })), null);
      }
      const held = subscriber.held ?? [];
      subscriber.held = null;
      await this.#send(subscriber, held, this.#checkpoint);
    } catch {
      this.#drop(subscriber);
    }
  }

  async #send(subscriber: Subscriber, records: Published[], checkpoint: { size: number; note: string } | null): Promise<void> {
    let text = '';
    for (const published of records) {
      if (published.index < subscriber.next) continue; // sent already (the backfill and a live commit overlap)
      if (published.index > subscriber.next) throw new Error(`stream gap: ${subscriber.next} to ${published.index}`);
      subscriber.next = published.index + 1;
      if (matches(subscriber.filter, published)) text += `id: ${published.index}\nevent: record\ndata: ${JSON.stringify({ index: published.index, jws: published.jws })}\n\n`;
    }
    // A checkpoint only once the subscriber holds every record it covers.
    if (checkpoint && checkpoint.size === subscriber.next) text += `event: checkpoint\ndata: ${JSON.stringify(checkpoint)}\n\n`;
    if (text) await this.#write(subscriber, text);
  }

  async #write(subscriber: Subscriber, text: string): Promise<void> {
    try {
      await subscriber.writer.write(encoder.encode(text));
    } catch {
      this.#drop(subscriber); // the client went away
    }
  }

  #everyone(text: string): void {
    for (const subscriber of this.#subscribers) if (!subscriber.held) void this.#write(subscriber, text);
  }

  #drop(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
    void subscriber.writer.close().catch(() => undefined);
    if (this.#subscribers.size === 0 && this.#keepalive) {
      clearInterval(this.#keepalive);
      this.#keepalive = null;
    }
  }

  /** Ends every stream (emulator reset). */
  closeAll(): void {
    for (const subscriber of [...this.#subscribers]) this.#drop(subscriber);
  }
}
