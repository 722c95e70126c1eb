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
import type { WriteStatement } from '../../platform/db/statements';
import type { AppendEffects } from './extensions';
import type { CommitResult } from './commit-result';

export type { CommitResult } from './commit-result';

export { compiledWrite, expectChanges, onUnique, write, type Placeholders, type WriteStatement } from '../../platform/db/statements';
import { uniqueReason } from '../../platform/db/statements';
import { oneByteString } from '../../lib/bytes';
export type { SequencerTimings } from '../../platform/middleware/server-timing/timings';

/**
 * A signed note bound as ASCII, its note's signature-line dash (U+2014) put
 * back by SQLite (`ASCII_NOTE_SQL`), so the stored note is the signed one (checkpoints, key hand-overs).
 * Why: D1's client sends a batch as one JSON text, and one string beyond
 * Latin-1 makes V8 encode all of it two bytes a character — every envelope of
 * a page write with it (perf on workerd found the UTF-8 re-encoding and the
 * two-byte JSON parse among a page write's largest costs). Replacing the dash
 * is not enough: the result can keep the two-byte form of the note it came
 * from (perf on workerd still found V8's `ChangeEncoding` in every batch's
 * JSON, from this parameter), hence `oneByteString`.
 */
export function asciiNote(note: string): string {
  const escaped = note.replaceAll('\u2014', '\\u2014');
  // Any other wide character (none in the notes Custodes signs today) is bound as it is: correct, only slower.
  return WIDE.test(escaped) ? escaped : oneByteString(escaped);
}
const WIDE = /[\u0100-\uffff]/;
export const ASCII_NOTE_SQL = "replace(?, '\\u2014', char(8212))";
/**
 * What a service says of its commit: how the record reads (all optional, the
 * route's defaults otherwise), and the effects features carry out with it
 * (`AppendEffects`: notices, seals, object images, a page read or write —
 * each declared by its feature, audit/log/extensions.ts).
 */
export interface CommitOptions extends AppendEffects {
  /** The resource the record names (default: the route's). */
  target?: Target;
  /** The log to append to (default: the route's). A new tenant's first record goes to its own log. */
  log?: string;
  details?: { [key: string]: JsonValue };
  regions?: Region[];
  /** The record's outcome when the writes record a refusal (e.g. a change request marked failed). Default `allowed`. */
  outcome?: Outcome;
  reason?: string;
  /** The HTTP status the record names (reads committed before their response: 200). */
  status?: number;
}

export type Commit = (writes: WriteStatement[], options?: CommitOptions) => Promise<CommitResult>;

/** The key SQLite names in a unique-constraint failure (`UNIQUE constraint failed: t.a, t.b`). */
const UNIQUE_KEY = /UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)/;

/**
 * Classifies a batch failure caused by `writes` themselves. The guards'
 * triggers raise fixed texts (drizzle/0002, 0005, 0008, 0014); a broken unique
 * key is named by SQLite, and its meaning is what the statement declared.
 */
export function rejection(message: string, writes: readonly WriteStatement[] = []): Extract<CommitResult, { ok: false }> | null {
  const unique = UNIQUE_KEY.exec(message);
  if (unique) {
    const reason = uniqueReason(writes, unique[1]!);
    return { ok: false, rejected: 'unique', message, ...(reason ? { reason } : {}) };
  }
  if (message.includes('token replayed')) return { ok: false, rejected: 'replay', message };
  if (message.includes('principal changed')) return { ok: false, rejected: 'principal', message };
  if (message.includes('idempotency claim lost')) return { ok: false, rejected: 'idempotency', message };
  if (message.includes('write assertion failed')) return { ok: false, rejected: 'assertion', message };
  if (/constraint failed/i.test(message)) return { ok: false, rejected: 'constraint', message };
  return null;
}
