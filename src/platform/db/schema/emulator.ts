/**
 * Emulator mode only (src/emulator): the one row of controls a test set —
 * how far the clock runs ahead, and which faults to inject. It lives in D1 so
 * that every isolate and the log's sequencer see the same emulator. A
 * deployed Worker never writes it (the controls answer 404 there).
 */
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const emulatorState = sqliteTable('emulator_state', {
  id: integer('id').primaryKey(),
  clockOffsetMs: integer('clock_offset_ms').notNull().default(0),
  /** JSON array of fault rules (src/emulator/faults.ts). */
  faults: text('faults').notNull().default('[]'),
});
