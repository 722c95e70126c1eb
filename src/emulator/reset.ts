/**
 * Reset: every table emptied (the migrations' own bookkeeping and the
 * enrolled admins kept), every log's sequencer forgotten, the isolate's
 * caches of D1 state cleared. The next record of any log is its index 0,
 * under a fresh checkpoint. A store copy kept for a rollback-store rule is
 * dropped.
 *
 * Why two round trips and no more (issue 34: a tenant's test suite resets
 * between tests): one read batch learns which tables hold rows, which logs
 * exist and which store copies are kept; one write batch empties only those
 * tables and drops the copies. The table names are read once per isolate —
 * the schema is fixed once the migrations ran.
 */
import type { Env } from '../env';
import { auditLogOf } from '../audit/log/append';
import { clearIsolateCaches } from '../platform/isolate-caches';
import { setClockOffset } from '../platform/clock';
import { COPY_PREFIX, NOT_APPLICATION_DATA, quoted } from './store-copy';

/** What a reset keeps: the enrolled admins (and with them the end of the bootstrap ceremony) — a reset empties the data, not who runs the instance. */
const KEPT = "('admins', 'bootstrap_reenables')";

let resettable: string[] | null = null;

async function resettableTables(db: D1Database): Promise<string[]> {
  if (!resettable) {
    const { results } = await db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND ${NOT_APPLICATION_DATA} AND name NOT IN ${KEPT} AND name NOT LIKE '${COPY_PREFIX.replace(/_/g, '\\_')}%' ESCAPE '\\'`,
      )
      .all<{ name: string }>();
    resettable = results.map((r) => r.name);
  }
  return resettable;
}

export async function resetEmulator(env: Env): Promise<{ tables: number; logs: number }> {
  const db = env.DB;
  const tables = await resettableTables(db);
  // Which tables hold rows, which logs exist, which store copies are kept: one round trip.
  const holding = `SELECT ${tables.map((name, i) => `EXISTS (SELECT 1 FROM ${quoted(name)}) AS t${i}`).join(', ')}`;
  const [filled, logs, copies] = await db.batch<Record<string, number | string>>([
    db.prepare(holding),
    db.prepare('SELECT log FROM audit_logs'),
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '${COPY_PREFIX.replace(/_/g, '\\_')}%' ESCAPE '\\'`),
  ]);
  const row = filled!.results[0] ?? {};
  const emptied = tables.filter((_, i) => row[`t${i}`] === 1);
  // One batch, so a reset is all or nothing; foreign keys are checked at its end, when every table is empty.
  await db.batch([
    db.prepare('PRAGMA defer_foreign_keys = ON'),
    ...copies!.results.map((r) => db.prepare(`DROP TABLE ${quoted(String(r.name))}`)),
    ...emptied.map((name) => db.prepare(`DELETE FROM ${quoted(name)}`)),
  ]);
  const logNames = logs!.results.map((r) => String(r.log));
  await Promise.all(logNames.map((log) => auditLogOf(env, log).reset()));
  clearIsolateCaches();
  setClockOffset(0);
  return { tables: tables.length, logs: logNames.length };
}
