/**
 * The log's sequencer as the Worker deploys it: the thin Durable Object
 * (audit/log/sequencer.ts: the queue, the head, the one D1 batch) with every
 * feature that takes part in a log's commits (audit/log/extensions.ts),
 * in the order they join a record's batch. The one place that knows them all;
 * its RPC methods beyond `append` and `reset` are the features'.
 */
import type { Env } from './env';
import { LogSequencer } from './audit/log/sequencer';
import type { RecordDraft } from './audit/format/record';
import type { StreamAuthority, StreamFilter } from './audit/stream/fan-out';
import type { EventSink } from './audit/stream/sink';
import { pageHeads } from './tenant/contents/page-versioning';
import { objectImaging } from './recovery/objects/object-imaging';
import { flowIndex } from './recovery/taint/flow-statements';
import { noticeOutbox } from './audit/log/notices';
import { seals } from './governance/access-requests/seal-statements';
import { refusalWindows, type RefusalWindows } from './audit/log/refusal-windows';
import { liveStream, type LiveStream } from './audit/stream/live-stream';
import { tenantAlerts } from './audit/alerts/deliveries';
import { witnessCosigning, type WitnessCosigning } from './audit/witnessing/cosigning';
import { injectedBatchFaults } from './emulator/log-faults';
import { emulatorEnabled } from './platform/emulator-mode';

declare module './env' {
  interface Env {
    /** One AuditLogSequencer per log (this file). */
    AUDIT_LOG: DurableObjectNamespace<AuditLogSequencer>;
  }
}

export class AuditLogSequencer extends LogSequencer {
  readonly #refusals: RefusalWindows;
  readonly #stream: LiveStream;
  readonly #witnesses: WitnessCosigning;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // What joins a record's batch, in this order: page heads draft it; object images go around its writes; the rest follow the record.
    this.extend(pageHeads);
    this.extend(objectImaging);
    this.extend(flowIndex);
    this.extend(noticeOutbox);
    this.extend(seals);
    // Emulator mode only: its injected D1 fault. A deployment never makes it.
    if (emulatorEnabled(env)) this.extend(injectedBatchFaults);
    // What reacts to commits, after the appends are answered.
    this.#refusals = this.extend(refusalWindows);
    this.#stream = this.extend(liveStream);
    this.extend(tenantAlerts);
    this.#witnesses = this.extend(witnessCosigning);
  }

  /** A refusal of a request by someone outside `log` (audit/log/refusal-windows.ts). */
  appendRefusal(log: string, draft: RecordDraft) {
    this.serve(log);
    return this.#refusals.refuse(draft);
  }

  flushRefusals() {
    return this.#refusals.flush();
  }

  override alarm(): Promise<void> {
    return this.#refusals.alarm();
  }

  /** A live stream of `log` (audit/stream/live-stream.ts). */
  follow(log: string, from: number, filter: StreamFilter, authority: StreamAuthority, sink: EventSink) {
    this.serve(log);
    return this.#stream.follow(from, filter, authority, sink);
  }

  /** Asks the witnesses to cosign the latest checkpoint of `log` (audit/witnessing/cosigning.ts). */
  cosign(log: string) {
    this.serve(log);
    return this.#witnesses.cosign();
  }
}
