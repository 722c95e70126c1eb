/**
 * How features add to a record's batch without the sequencer knowing them
 * (issue 33). The sequencer's own job is the queue, the head and the one D1
 * batch; a feature that must commit something with a record — the
 * information-flow index (recovery), the notice outbox (audit/log/notices),
 * a sealed record (governance) — contributes a `RecordStatements` from its own
 * folder, and the Worker's entry point installs them (src/sequencer.ts). Whatever
 * they return joins the record's batch: all of it commits with the record, or
 * none does.
 *
 * A feature that reacts to what a log committed (tenant alerts) contributes an
 * after-commit hook instead: made once per log's sequencer (it may keep state
 * for that log, such as its alert rules), called after the group's appends are
 * answered — it never delays one — and its failures are only logged.
 */
import type { Env } from '../../env';
import type { AuditRecord } from '../format/record';
import type { Published } from '../stream/fan-out';
import type { SealOrder } from './commit';

/** What a record-statements extension sees of one record being committed. */
export interface RecordContext {
  db: D1Database;
  /** The record as signed (its index, time and resolved regions included). */
  record: AuditRecord;
  /** Its canonical JSON: the leaf the tree hashes, the bytes a commitment names. */
  payload: Uint8Array;
  /** What the append asked for besides its writes. */
  entry: { notify?: string[]; seal?: SealOrder };
}

/** A feature's statements in a record's batch, after the record itself. */
export type RecordStatements = (context: RecordContext) => D1PreparedStatement[];

const installed: RecordStatements[] = [];

/** Installs the features' record statements (the Worker's entry point, once per isolate; idempotent). */
export function installRecordStatements(...extensions: RecordStatements[]): void {
  for (const extension of extensions) if (!installed.includes(extension)) installed.push(extension);
}

/** Every installed feature's statements for `context`, in installation order. */
export const recordStatements = (context: RecordContext): D1PreparedStatement[] => installed.flatMap((extension) => extension(context));

/** After a group commits: what it published, for one log. */
export type AfterCommit = (env: Env, log: string, published: readonly Published[]) => Promise<void>;

const afterCommitFactories: (() => AfterCommit)[] = [];

/** Installs after-commit hooks: each sequencer makes its own from each factory (the Worker's entry point; idempotent). */
export function installAfterCommit(...factories: (() => AfterCommit)[]): void {
  for (const factory of factories) if (!afterCommitFactories.includes(factory)) afterCommitFactories.push(factory);
}

/** One sequencer's hooks, made from the installed factories. */
export const afterCommitHooks = (): AfterCommit[] => afterCommitFactories.map((factory) => factory());
