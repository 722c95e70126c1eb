/**
 * How features take part in a log's commits without the sequencer knowing
 * them (issue 33). The sequencer's own job is the queue, the head and the one
 * D1 batch (./sequencer.ts); everything else a commit carries or causes comes
 * from a `LogExtension`, made once per log's sequencer from a factory in the
 * feature's own folder and composed in one place, the Worker's entry point
 * (src/sequencer.ts):
 *
 *  - page heads (tenant/contents): `prepare` loads what a group needs, `draft`
 *    names a page read's or write's versions before the record is signed;
 *  - the object-history index (recovery/objects), the flow index
 *    (recovery/taint), the notice outbox (audit/log/notices), seals
 *    (governance/access-requests): `statements` in the record's own batch —
 *    all of it commits with the record, or none does;
 *  - the live stream, tenant alerts and witnesses: `afterCommit`, called once
 *    the group's appends are answered, so none of them ever delays an append;
 *  - the emulator's injected D1 fault: `statements` again, installed only in
 *    emulator mode.
 *
 * What an append carries for a feature is that feature's field of
 * `AppendEffects`, declared by the feature (declaration merging, as `Env`):
 * the sequencer passes it through untouched.
 */
import type { Env } from '../../env';
import type { AuditRecord, RecordDraft, Region } from '../format/record';
import type { WriteStatement } from '../../platform/db/statements';
import type { CommitResult } from './commit-result';

/** What an append asks of features besides its record and writes: each feature declares its own field. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging from the features' folders
export interface AppendEffects {}

/** One append as its log's sequencer receives it. */
export interface AppendEntry extends AppendEffects {
  draft: RecordDraft;
  /** The request's data writes: in the record's batch, before it. */
  writes: WriteStatement[];
}

/** A record as the sequencer published it after its group committed. */
export interface Published {
  index: number;
  jws: string;
  record: Pick<AuditRecord, 'outcome' | 'action'> & { actor: { type: string } };
}

/** A signed checkpoint: the log's size and its note (C2SP signed-note). */
export interface SignedCheckpoint {
  size: number;
  note: string;
}

/** What a feature sees of one record being committed. */
export interface RecordContext {
  db: D1Database;
  /** The record as signed (its index, time and resolved regions included). */
  record: AuditRecord;
  /** Its canonical JSON: the leaf the tree hashes, the bytes a commitment names. */
  payload: Uint8Array;
  entry: AppendEntry;
}

/** A feature's statements in a record's batch: around the entry's writes, and after the record. */
export interface RecordStatements {
  /** Before the entry's writes (e.g. an object's image before they change it). */
  beforeWrites?: D1PreparedStatement[];
  /** After the record (e.g. an index row naming it). */
  afterRecord?: D1PreparedStatement[];
}

/** What an extension says of one entry before it is signed: the regions its record names, and writes that join its own. */
export interface DraftedEntry {
  regions: Region[];
  writes: WriteStatement[];
}

/** What one log's sequencer offers the extensions made for it. */
export interface SequencerHost {
  readonly env: Env;
  readonly storage: DurableObjectStorage;
  /** The log this sequencer serves (known from its first call). */
  readonly log: string;
  /** The log's latest signed checkpoint (read from D1 when not yet held). */
  checkpoint(): Promise<SignedCheckpoint>;
  /** Appends to `log` (this one) through the sequencer's own queue: a summary record, say. */
  append(log: string, entry: AppendEntry): Promise<CommitResult>;
}

/** A feature's part in one log's commits. Every member is optional; each is called in installation order. */
export interface LogExtension {
  /** Before a group is drafted (every group, and every retry of one member): load what it needs. */
  prepare?(entries: readonly AppendEntry[]): Promise<void>;
  /**
   * Each entry of the group, in order, before it is signed. Answering names
   * the record's regions and adds writes; an entry a draft cannot serve is
   * an error thrown (the group fails).
   */
  draft?(entry: AppendEntry): DraftedEntry | undefined;
  /** Statements in the record's own batch. */
  statements?(context: RecordContext): RecordStatements | undefined;
  /** The group's batch committed: before the appends are answered, with nothing awaited. */
  committed?(): void;
  /** A lone entry's own guard refused it (its state may be stale). */
  rejected?(entry: AppendEntry): void;
  /** After the appends were answered; its failures are logged, never an append's. */
  afterCommit?(published: readonly Published[], checkpoint: SignedCheckpoint): Promise<void> | void;
  /** The emulator cleared the log (src/emulator/reset.ts). */
  reset?(): Promise<void> | void;
}

/** Makes one log's extension. */
export type LogExtensionFactory = (host: SequencerHost) => LogExtension;
