/**
 * Notices: a record that other logs must carry too (docs/design.md §5) — a change
 * request's step in each affected tenant's log, an access request in the
 * provider's — delivered so that none is ever lost (issue 17).
 *
 * Why an outbox: the primary record and its notices go to different logs,
 * each with its own sequencer (and, sharded, perhaps its own database), so
 * they cannot share one batch. Instead the primary's batch leaves one outbox
 * row per notice (`noticeOutbox`, an extension of the log's sequencer), atomically with the
 * record. Delivery appends the notice with a receipt row in the notice's own
 * batch — the receipt's key makes a second delivery append nothing — and
 * then clears the outbox row. Every step is idempotent, so whoever comes
 * next finishes what a crash left: the request itself right after its commit,
 * any read of the target log (the audit routes call `finishNotices` first, so
 * no one is shown a log that lacks a committed notice), and the cron sweep.
 */
import type { Env } from '../../env';
import type { RecordDraft } from '../format/record';
import { appendToLog } from './append';
import { onUnique } from '../../platform/db/statements';
import type { LogExtension } from './extensions';

declare module './extensions' {
  interface AppendEffects {
    /** Other logs that must carry a notice of this record: one outbox row each, in this record's batch. */
    notify?: string[];
  }
}
import { noticeDraft } from './notice-draft';

export { noticeDraft } from './notice-draft';

/** The record's notices to other logs, left in the outbox by its own batch (an extension: extensions.ts). */
export const noticeOutbox = (): LogExtension => ({ statements: noticeOutboxStatements });

const noticeOutboxStatements: LogExtension['statements'] = ({ db, record, entry: { notify } }) => {
  const targets = [...new Set(notify ?? [])].filter((other) => other !== record.log);
  if (targets.length === 0) return undefined;
  const { v: _v, log: _log, index: _index, time: _time, ...draft } = record;
  const notice = JSON.stringify(noticeDraft(draft, { log: record.log, index: record.index }));
  return {
    afterRecord: [
      db
        .prepare(`INSERT INTO audit_notice_outbox (log, idx, target_log, draft) VALUES ${targets.map(() => '(?, ?, ?, ?)').join(', ')}`)
        .bind(...targets.flatMap((target) => [record.log, record.index, target, notice])),
    ],
  };
};

export interface PendingNotice {
  /** The primary record's log and index. */
  log: string;
  index: number;
  targetLog: string;
  draft: RecordDraft;
}

export type Delivery = { delivered: 'now' | 'before'; auditIndex: number | null };

/** Appends one notice to its log unless it is there already, then clears its outbox row. */
export async function deliverNotice(env: Env, notice: PendingNotice): Promise<Delivery> {
  const receipt = onUnique(
    { sql: 'INSERT INTO audit_notice_receipts (primary_log, primary_idx, target_log) VALUES (?, ?, ?)', params: [notice.log, notice.index, notice.targetLog] },
    { audit_notice_receipts: 'delivered_before' },
  );
  const result = await appendToLog(env, notice.targetLog, notice.draft, [receipt]);
  // The receipt's key refused it: an earlier delivery appended this notice.
  const before = !result.ok && result.reason === 'delivered_before';
  if (!result.ok && !before) throw new Error(`notice of ${notice.log}#${notice.index} to ${notice.targetLog} failed: ${result.message}`);
  await env.DB.prepare('DELETE FROM audit_notice_outbox WHERE log = ? AND idx = ? AND target_log = ?').bind(notice.log, notice.index, notice.targetLog).run();
  return { delivered: before ? 'before' : 'now', auditIndex: result.ok ? result.auditIndex : null };
}

/** Notices left undelivered (a crash after their primary committed), oldest first; `targetLog` narrows to one log's. */
export async function pendingNotices(env: Env, { targetLog, limit = 100 }: { targetLog?: string; limit?: number } = {}): Promise<PendingNotice[]> {
  const where = targetLog ? 'WHERE target_log = ?' : '';
  const { results } = await env.DB.prepare(`SELECT log, idx, target_log, draft FROM audit_notice_outbox ${where} ORDER BY created_at, log, idx LIMIT ?`)
    .bind(...(targetLog ? [targetLog] : []), limit)
    .all<{ log: string; idx: number; target_log: string; draft: string }>();
  return results.map((r) => ({ log: r.log, index: r.idx, targetLog: r.target_log, draft: JSON.parse(r.draft) as RecordDraft }));
}

/** Delivers what the outbox holds (for `targetLog`, or every log), in order; answers how many it appended. */
export async function finishNotices(env: Env, targetLog?: string): Promise<number> {
  let appended = 0;
  for (;;) {
    const pending = await pendingNotices(env, { targetLog });
    for (const notice of pending) if ((await deliverNotice(env, notice)).delivered === 'now') appended++;
    if (pending.length < 100) return appended;
  }
}
