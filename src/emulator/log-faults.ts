/**
 * The emulator's `audit-batch` fault (./faults.ts) as one of a log's
 * sequencer extensions (audit/log/extensions.ts), installed only in emulator
 * mode (src/sequencer.ts): the batch carrying a marked append fails in D1, as
 * a real D1 fault would — nothing of it is written.
 */
import type { LogExtension } from '../audit/log/extensions';

declare module '../audit/log/extensions' {
  interface AppendEffects {
    /** Emulator mode only: the batch carrying this append fails in D1. */
    failBatch?: boolean;
  }
}

/** A statement D1 refuses (there is no such table). */
const FAILING_STATEMENT = 'INSERT INTO emulator_injected_audit_batch_fault VALUES (1)';

export const injectedBatchFaults = (): LogExtension => ({
  statements: ({ db, entry }) => (entry.failBatch ? { afterRecord: [db.prepare(FAILING_STATEMENT)] } : undefined),
});
