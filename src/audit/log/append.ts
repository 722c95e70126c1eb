/** Appending to a log: through that log's sequencer (src/sequencer.ts). */
import type { Env } from '../../env';
import type { CommitResult, WriteStatement } from './commit';
import type { RecordDraft } from '../format/record';
import type { AppendEffects, AppendEntry } from './extensions';

/** The sequencer of `log`: one Durable Object per log. */
export const auditLogOf = (env: Env, log: string) => env.AUDIT_LOG.get(env.AUDIT_LOG.idFromName(log));

export function appendToLog(env: Env, log: string, draft: RecordDraft, writes: WriteStatement[] = [], effects: AppendEffects = {}): Promise<CommitResult> {
  return auditLogOf(env, log).append(log, { ...effects, draft, writes });
}

/** Several records appended in one call, in order, committed together (`LogSequencer.appendAll`). */
export function appendAllToLog(env: Env, log: string, entries: AppendEntry[]): Promise<CommitResult[]> {
  return auditLogOf(env, log).appendAll(log, entries);
}

/** Emulator mode only: the store emptied by `clearing` and `log` started again with `entries`, in one batch (`LogSequencer.restart`). */
export function restartLog(env: Env, log: string, clearing: WriteStatement[], entries: AppendEntry[]): Promise<CommitResult[]> {
  return auditLogOf(env, log).restart(log, clearing, entries);
}
