/**
 * The emulator's controls as stored (platform/db/schema/emulator.ts): one row,
 * read once per request in emulator mode, so every isolate and the log's
 * sequencer agree on the clock and the faults.
 */
import { FaultRulesSchema, type FaultRule } from './faults';

declare module '../env' {
  interface AppVariables {
    /** Emulator mode only: the controls as read for this request. */
    emulator?: EmulatorState;
  }
}

export interface EmulatorState {
  clockOffsetMs: number;
  faults: FaultRule[];
  /** The faults column as read: a compare-and-set guard for spending a rule. */
  faultsText: string;
}

export async function loadEmulatorState(db: D1Database): Promise<EmulatorState> {
  const row = await db
    .prepare('SELECT clock_offset_ms AS clockOffsetMs, faults FROM emulator_state WHERE id = 1')
    .first<{ clockOffsetMs: number; faults: string }>();
  if (!row) return { clockOffsetMs: 0, faults: [], faultsText: '[]' };
  const faults = FaultRulesSchema.safeParse(JSON.parse(row.faults));
  return { clockOffsetMs: row.clockOffsetMs, faults: faults.success ? faults.data : [], faultsText: row.faults };
}

const UPSERT =
  'INSERT INTO emulator_state (id, clock_offset_ms, faults) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET clock_offset_ms = excluded.clock_offset_ms, faults = excluded.faults';

export async function saveEmulatorState(db: D1Database, state: Pick<EmulatorState, 'clockOffsetMs' | 'faults'>): Promise<void> {
  await db.prepare(UPSERT).bind(state.clockOffsetMs, JSON.stringify(state.faults)).run();
}

/** Replaces the faults only if nobody changed them since `read` (so a `times: 1` rule fires once under concurrency). */
export async function replaceFaults(db: D1Database, read: EmulatorState, faults: FaultRule[]): Promise<boolean> {
  const result = await db.prepare('UPDATE emulator_state SET faults = ? WHERE id = 1 AND faults = ?').bind(JSON.stringify(faults), read.faultsText).run();
  return result.meta.changes === 1;
}
