/**
 * The emulator's controls as stored (platform/db/schema/emulator.ts): one row,
 * the source of truth for the clock and the faults.
 *
 * Why an isolate cache (issue 34): every request in emulator mode needs the
 * row, and reading it cost ~2 ms of a request that does nothing else. Every
 * write of the row goes through this module (or clears the isolate's caches:
 * a start's schema, a reset, an import), so the cache is never older than the
 * row as this isolate wrote it; spending a rule (a compare-and-set) drops the
 * cache, and the next request reads the row again.
 */
import { registerIsolateCache } from '../platform/isolate-caches';
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

let cached: EmulatorState | null = null;
registerIsolateCache(() => {
  cached = null;
});

const stateOf = (clockOffsetMs: number, faultsText: string): EmulatorState => {
  const faults = FaultRulesSchema.safeParse(JSON.parse(faultsText));
  return { clockOffsetMs, faults: faults.success ? faults.data : [], faultsText };
};

export async function loadEmulatorState(db: D1Database): Promise<EmulatorState> {
  if (cached) return cached;
  const row = await db
    .prepare('SELECT clock_offset_ms AS clockOffsetMs, faults FROM emulator_state WHERE id = 1')
    .first<{ clockOffsetMs: number; faults: string }>();
  cached = row ? stateOf(row.clockOffsetMs, row.faults) : stateOf(0, '[]');
  return cached;
}

const UPSERT =
  'INSERT INTO emulator_state (id, clock_offset_ms, faults) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET clock_offset_ms = excluded.clock_offset_ms, faults = excluded.faults';

export async function saveEmulatorState(db: D1Database, state: Pick<EmulatorState, 'clockOffsetMs' | 'faults'>): Promise<void> {
  const faultsText = JSON.stringify(state.faults);
  cached = null; // not served while the write is in flight
  await db.prepare(UPSERT).bind(state.clockOffsetMs, faultsText).run();
  cached = stateOf(state.clockOffsetMs, faultsText);
}

/** Replaces the faults only if nobody changed them since `read` (so a `times: 1` rule fires once under concurrency). */
export async function replaceFaults(db: D1Database, read: EmulatorState, faults: FaultRule[]): Promise<boolean> {
  const result = await db.prepare('UPDATE emulator_state SET faults = ? WHERE id = 1 AND faults = ?').bind(JSON.stringify(faults), read.faultsText).run();
  // Read again by the next request either way: `read`'s clock may be older than the row's.
  cached = null;
  return result.meta.changes === 1;
}
