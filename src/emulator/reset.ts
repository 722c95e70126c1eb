/**
 * Reset: every table emptied (the migrations' own bookkeeping kept), every
 * log's sequencer forgotten, the isolate's caches of D1 state cleared. The
 * next record of any log is its index 0, under a fresh checkpoint.
 */
import type { Env } from '../env';
import { auditLogOf } from '../audit/log/append';
import { clearIsolateCaches } from '../platform/isolate-caches';
import { setClockOffset } from '../platform/clock';

/** Tables that are not the application's data: D1's and SQLite's own, and the migrations' record. */
const KEPT = "name NOT IN ('d1_migrations', 'sqlite_sequence') AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

export async function resetEmulator(env: Env): Promise<{ tables: number; logs: number }> {
  const db = env.DB;
  const { results: tables } = await db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND ${KEPT}`).all<{ name: string }>();
  const { results: logs } = await db.prepare('SELECT log FROM audit_logs').all<{ log: string }>();
  // One batch, so a reset is all or nothing; foreign keys are checked at its end, when every table is empty.
  await db.batch([db.prepare('PRAGMA defer_foreign_keys = ON'), ...tables.map(({ name }) => db.prepare(`DELETE FROM "${name.replace(/"/g, '""')}"`))]);
  await Promise.all(logs.map(({ log }) => auditLogOf(env, log).reset()));
  clearIsolateCaches();
  setClockOffset(0);
  return { tables: tables.length, logs: logs.length };
}
