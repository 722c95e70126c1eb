/**
 * Reset: every table emptied (the migrations' own bookkeeping and the
 * enrolled admins kept), every
 * log's sequencer forgotten, the isolate's caches of D1 state cleared. The
 * next record of any log is its index 0, under a fresh checkpoint. A store
 * copy kept for a rollback-store rule is dropped.
 */
import type { Env } from '../env';
import { auditLogOf } from '../audit/log/append';
import { clearIsolateCaches } from '../platform/isolate-caches';
import { setClockOffset } from '../platform/clock';
import { dropStoreCopy, NOT_APPLICATION_DATA } from './store-copy';

export async function resetEmulator(env: Env): Promise<{ tables: number; logs: number }> {
  const db = env.DB;
  await dropStoreCopy(db);
  // The enrolled admins stay (and with them the end of the bootstrap ceremony): a reset empties the data, not who runs the instance.
  const { results: tables } = await db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND ${NOT_APPLICATION_DATA} AND name NOT IN ('admins', 'bootstrap_reenables')`)
    .all<{ name: string }>();
  const { results: logs } = await db.prepare('SELECT log FROM audit_logs').all<{ log: string }>();
  // One batch, so a reset is all or nothing; foreign keys are checked at its end, when every table is empty.
  await db.batch([db.prepare('PRAGMA defer_foreign_keys = ON'), ...tables.map(({ name }) => db.prepare(`DELETE FROM "${name.replace(/"/g, '""')}"`))]);
  await Promise.all(logs.map(({ log }) => auditLogOf(env, log).reset()));
  clearIsolateCaches();
  setClockOffset(0);
  return { tables: tables.length, logs: logs.length };
}
