/**
 * Where a live stream's events go: the response being served, in the Worker
 * that took the request. The log's sequencer calls it over RPC; each `write`
 * resolves only once the response has taken the bytes, which it does at the
 * pace the client's socket drains.
 *
 * Why not hand the sequencer's own ReadableStream back as the response body:
 * a stream that crosses the RPC boundary is pumped eagerly, so a client that
 * never reads left every event buffered between the two, out of the
 * sequencer's sight — the budget counted nothing while workerd's memory grew
 * (issue 29). With the sink, the sequencer counts exactly what is unread.
 *
 * The Worker's call to the sequencer (`AuditLogSequencer.follow`) stays
 * pending for as long as the stream lives: that pending call is what keeps
 * the Worker's request, and so this sink, alive between events (a callback
 * target alone is not work in progress to the runtime, which would end the
 * request at the first quiet moment).
 */
import { RpcTarget } from 'cloudflare:workers';

/** What the sequencer sees of a subscriber's response (an RPC stub of a `ResponseSink`, or a test's own). */
export interface EventSink {
  /** The subscriber was admitted: the response may start. */
  opened(): void;
  /** Resolves once the response has taken the bytes: true, or false when the client has gone (never rejects). */
  write(bytes: Uint8Array): Promise<boolean>;
  /** Resolves once the client has taken everything: true, or false when it has gone. */
  close(): Promise<boolean>;
  /** Ends the response at once, discarding what the client has not taken. */
  abort(reason: string): Promise<void>;
}

/** Settles to whether `promise` fulfilled: nothing crosses the RPC boundary as a rejection. */
const fulfilled = (promise: Promise<unknown>): Promise<boolean> =>
  promise.then(
    () => true,
    () => false,
  );

export class ResponseSink extends RpcTarget implements EventSink {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #open = () => {};
  /** Resolves when the sequencer admits the subscriber. */
  readonly admitted = new Promise<void>((resolve) => (this.#open = resolve));

  constructor(writable: WritableStream<Uint8Array>) {
    super();
    this.#writer = writable.getWriter();
    // A client that goes away errors the stream: the sequencer hears it from its next write, not from here.
    this.#writer.closed.catch(() => undefined);
  }

  opened(): void {
    this.#open();
  }

  write(bytes: Uint8Array): Promise<boolean> {
    return fulfilled(this.#writer.write(bytes));
  }

  close(): Promise<boolean> {
    return fulfilled(this.#writer.close());
  }

  async abort(reason: string): Promise<void> {
    await fulfilled(this.#writer.abort(new Error(reason)));
  }
}
