/**
 * Refusals of requests by someone outside a log — anonymous, or a principal
 * of another tenant (docs/decisions.md, "Flood-proof logging"), as one of the
 * log's sequencer extensions (./extensions.ts). Per window
 * (`AUDIT_REFUSAL_WINDOW_SECONDS`, default 60) the first
 * `AUDIT_REFUSAL_SAMPLE` (default 16) are recorded in full; the rest are
 * counted, and the count becomes one signed summary record when the window
 * ends (an alarm) or the next refusal arrives after it. So outsiders add at
 * most sample + 1 records per window to a log, however many they are, and the
 * log still says that someone knocked, how often, why and from where.
 */
import type { AuditedAction } from '../actions';
import type { RecordDraft } from '../format/record';
import { draftTime } from '../format/record';
import { newId } from '../../lib/ids';
import type { CommitResult } from './commit';
import type { LogExtension, SequencerHost } from './extensions';
import { refusalPolicy } from './logs';

/** The refusals of the current window: how many were recorded in full, and how many only counted, by reason, action and source. */
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

export type RefusalResult = { ok: true; log: string; auditIndex: number } | { ok: true; log: string; window: number } | Extract<CommitResult, { ok: false }>;

/** Distinct keys a summary keeps per tally (the rest are counted under `other`): a summary is bounded too. */
const MAX_TALLY_KEYS = 16;

const tally = (counts: Record<string, number>, key: string) => {
  const k = key in counts || Object.keys(counts).length < MAX_TALLY_KEYS ? key : 'other';
  counts[k] = (counts[k] ?? 0) + 1;
};

export interface RefusalWindows extends LogExtension {
  refuse(draft: RecordDraft): Promise<RefusalResult>;
  /** Appends the summary of the counted refusals, if any (at the window's end; tests call it directly). */
  flush(): Promise<{ summarized: number; auditIndex: number | null }>;
  /** The Durable Object's alarm: the end of a window. */
  alarm(): Promise<void>;
}

export function refusalWindows(host: SequencerHost): RefusalWindows {
  /** The window being counted; undefined until read from storage (it outlives an eviction). */
  let current: RefusalWindow | null | undefined;
  const { storage } = host;

  async function openWindow(): Promise<RefusalWindow | null> {
    if (current === undefined) current = (await storage.get<RefusalWindow>('refusals')) ?? null;
    return current;
  }

  async function flush(): Promise<{ summarized: number; auditIndex: number | null }> {
    await openWindow();
    // Taken and cleared with no await between: a concurrent flush (the alarm, the next window's first refusal) finds nothing to summarize twice.
    const done = current;
    current = null; // a refusal arriving meanwhile opens a new window
    void storage.delete('refusals');
    if (!done || done.counted === 0) return { summarized: 0, auditIndex: null };
    const result = await host.append(done.log, {
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

  return {
    async refuse(draft) {
      const { log } = host;
      const { sample, windowMs } = refusalPolicy(host.env);
      const now = draftTime(draft);
      const window = now - (now % windowMs);
      const open = await openWindow();
      if (open && open.window !== window) await flush();
      current ??= { log, window, windowMs, sampled: 0, counted: 0, byReason: {}, byAction: {}, bySource: {} };
      const counting = current;
      if (counting.sampled < sample) {
        counting.sampled++;
        void storage.put('refusals', counting);
        return host.append(log, { draft, writes: [] });
      }
      counting.counted++;
      tally(counting.byReason, draft.reason ?? 'none');
      tally(counting.byAction, draft.action);
      tally(counting.bySource, draft.actor.id ?? draft.actor.ip ?? 'unknown');
      void storage.put('refusals', counting);
      if (counting.counted === 1) void storage.setAlarm(window + windowMs);
      return { ok: true, log, window };
    },
    flush,
    /**
     * The alarm may belong to a window already summarized by the next one's
     * first refusal; it must not cut that next window short, or its sample
     * would start again and the log grow past sample + 1.
     */
    async alarm() {
      const open = await openWindow();
      if (!open) return;
      const end = open.window + open.windowMs;
      if (Date.now() < end) await storage.setAlarm(end);
      else await flush();
    },
    reset() {
      current = null;
    },
  };
}
