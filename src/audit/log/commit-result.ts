/** What a log's sequencer answers an append (./commit.ts says how services use it). Apart, so the sequencer's extension interface can name it. */
import type { Region } from '../format/record';
import type { SequencerTimings } from '../../platform/middleware/server-timing/timings';

export type CommitResult =
  | {
      ok: true;
      auditIndex: number;
      log: string;
      /** The record as signed (a compact JWS), when the log's sequencer committed it. */
      jws?: string;
      rows: Record<string, unknown>[][];
      timings?: SequencerTimings;
      /** For a content operation (`contents`, tenant/contents/page-versioning.ts): the versions the sequencer resolved, as the record names them. */
      regions?: Region[];
    }
  | {
      ok: false;
      rejected: 'assertion' | 'unique' | 'constraint' | 'replay' | 'principal' | 'idempotency';
      /** For `unique`: the reason the statement that broke the key declared for it (platform/db/statements.ts `onUnique`). */
      reason?: string;
      message: string;
    };
