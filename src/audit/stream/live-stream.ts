/**
 * The live stream as one of a log's sequencer extensions
 * (audit/log/extensions.ts): the sequencer's subscribers, sent each group's
 * records and checkpoint once the group's appends are answered (./fan-out.ts
 * holds the budget: subscribers, unread bytes, authority), and all ended when
 * the emulator resets the log.
 */
import type { LogExtension, SequencerHost } from '../log/extensions';
import { streamAuthorityCheck } from './authority';
import { LogFanOut, type Refusal, type StreamAuthority, type StreamFilter } from './fan-out';
import type { EventSink } from './sink';

export interface LiveStream extends LogExtension {
  /**
   * A live stream of the log from index `from`, written into `sink`: the
   * records already committed, then each one as it commits, with the
   * checkpoint after each group. Answers a refusal at once, or (after
   * `sink.opened()`) once the stream has ended.
   */
  follow(from: number, filter: StreamFilter, authority: StreamAuthority, sink: EventSink): Promise<Refusal | { ok: true }>;
}

export function liveStream(host: SequencerHost): LiveStream {
  const fanOut = new LogFanOut();
  return {
    afterCommit(published, checkpoint) {
      if (fanOut.size > 0) fanOut.publish([...published], checkpoint);
    },
    reset() {
      fanOut.closeAll();
    },
    async follow(from, filter, authority, sink) {
      const admission = fanOut.subscribe(host.env, host.log, from, filter, authority, streamAuthorityCheck(host.env, host.log), sink);
      if (!admission.ok) return admission;
      sink.opened();
      // Pending until the stream is over: the caller's request, and its sink, live as long as this call.
      await admission.ended;
      return { ok: true };
    },
  };
}
