/**
 * How the domain writes: a service hands its statements to `Commit`, which
 * runs them in the same D1 batch as the request's audit record and the tree
 * update. Either all of it lands or none of it does: a guard that fails
 * (`expectChanges`) or a constraint aborts the batch, the service learns the
 * write was rejected and explains why from a fresh read; the request is then
 * audited as failed, with no data change.
 */
import type { JsonValue } from '../format/canonical-json';
import type { Outcome, Region, Target } from '../format/record';
import type { ContentOp } from './content-op';
import type { WriteStatement } from '../../platform/db/statements';
import type { SequencerTimings } from '../../platform/middleware/server-timing/timings';

export { expectChanges, write, type WriteStatement } from '../../platform/db/statements';
export type { SequencerTimings } from '../../platform/middleware/server-timing/timings';
export type { ContentOp } from './content-op';

/**
 * A signed note bound as ASCII, its note's signature-line dash (U+2014) put
 * back by SQLite (`ASCII_NOTE_SQL`), so the stored note is the signed one (checkpoints, key hand-overs).
 * Why: D1's client sends a batch as one JSON text, and one string beyond
 * Latin-1 makes V8 encode all of it two bytes a character — every envelope of
 * a page write with it (perf on workerd found the UTF-8 re-encoding and the
 * two-byte JSON parse among a page write's largest costs).
 */
export const asciiNote = (note: string): string => note.replaceAll('\u2014', '\\u2014');
export const ASCII_NOTE_SQL = "replace(?, '\\u2014', char(8212))";
export interface CommitOptions {
  /** The resource the record names (default: the route's). */
  target?: Target;
  /** The log to append to (default: the route's). A new tenant's first record goes to its own log. */
  log?: string;
  details?: { [key: string]: JsonValue };
  regions?: Region[];
  /** The record's outcome when the writes record a refusal (e.g. a change request marked failed). Default `allowed`. */
  outcome?: Outcome;
  reason?: string;
  /**
   * Other logs that get a copy of the record (a notice naming the primary
   * record), appended before the response: a change request affecting a
   * tenant is in the provider's log and the tenant's.
   */
  notify?: string[];
  /** A sealed record in place of a notice (audit/log/sequencer.ts, governance/access-requests/seals.ts). */
  seal?: SealOrder;
  /**
   * Tenant objects besides contents that the writes change (recovery/objects):
   * their images before and after go into the object-history index in the
   * same batch, so undo can restore them exactly.
   */
  objects?: ObjectImaging[];
  /**
   * A page read or write whose versions the log's sequencer resolves
   * (tenant/contents/content-statements.ts): the record's regions are its, and
   * the rows of its read come back as the last statement's.
   */
  contents?: ContentOp;
  /** The HTTP status the record names (reads committed before their response: 200). */
  status?: number;
}

/** An object a write changes, with the query that images it (recovery/objects/object-kinds.ts `imageQuery`). */
export interface ObjectImaging {
  object: string;
  image: WriteStatement;
}

export type CommitResult =
  | {
      ok: true;
      auditIndex: number;
      log: string;
      /** The record as signed (a compact JWS), when the log's sequencer committed it. */
      jws?: string;
      rows: Record<string, unknown>[][];
      timings?: SequencerTimings;
      /** For a content operation (`CommitOptions.contents`): the versions the sequencer resolved, as the record names them. */
      regions?: Region[];
    }
  | { ok: false; rejected: 'assertion' | 'unique' | 'constraint' | 'replay' | 'principal' | 'idempotency'; message: string };

export type Commit = (writes: WriteStatement[], options?: CommitOptions) => Promise<CommitResult>;

/** Classifies a batch failure caused by the writes themselves. */
export function rejection(message: string): Extract<CommitResult, { ok: false }> | null {
  if (message.includes('token replayed')) return { ok: false, rejected: 'replay', message };
  if (message.includes('principal changed')) return { ok: false, rejected: 'principal', message };
  if (message.includes('idempotency claim lost')) return { ok: false, rejected: 'idempotency', message };
  if (message.includes('write assertion failed')) return { ok: false, rejected: 'assertion', message };
  if (message.includes('UNIQUE constraint failed')) return { ok: false, rejected: 'unique', message };
  if (/constraint failed/i.test(message)) return { ok: false, rejected: 'constraint', message };
  return null;
}

/**
 * A record that a tenant's log may not see yet (a sealed legal access): the
 * tenant's log gets, from this record's own batch, a sealed record — time, VM,
 * seal id, date, and the SHA-256 commitment of this record's payload — and
 * the seal is kept (`sealed_records`) until it is revealed.
 */
export interface SealOrder {
  /** The seal's id. */
  id: string;
  /** The log that gets the sealed record: the tenant's. */
  log: string;
  tenant: string;
  accessRequest: string;
  vm: string;
  /** The instant by which the full record must be revealed. */
  until: string;
}
