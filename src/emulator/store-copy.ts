/**
 * The emulator's whole store, as a provider with its own backups sees it:
 * every application table copied inside D1 (`CREATE TABLE … AS SELECT`, so no
 * row leaves SQLite and no size limit applies), and put back in one batch.
 * The `rollback-store` integrity fault (integrity-faults.ts) is built on it:
 * a provider that restores yesterday's backup serves a consistent, older
 * world — older logs, older pages — signed by the same key.
 *
 * `emulator_state` (the clock and the fault rules) is not part of the store a
 * rollback restores: the rule that rolls back must survive its own firing.
 */
import type { Env } from '../env';
import { auditLogOf } from '../audit/log/append';
import { clearIsolateCaches } from '../platform/isolate-caches';

/** Tables that are not the application's data: D1's and SQLite's own, and the migrations' record. */
export const NOT_APPLICATION_DATA =
  "name NOT IN ('d1_migrations', 'sqlite_sequence') AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/** Where a table's copy lives. */
export const COPY_PREFIX = 'emulator_copy__';

/** An SQLite identifier, quoted. */
export const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The store's tables: every application table but the emulator's own state and rollback copies (what a rollback restores, what a state file holds). */
export async function storeTables(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND ${NOT_APPLICATION_DATA} AND name != 'emulator_state' AND name NOT LIKE '${COPY_PREFIX.replace(/_/g, '\\_')}%' ESCAPE '\\' ORDER BY name`,
    )
    .all<{ name: string }>();
  return results.map((r) => r.name);
}

/** Copies every store table as it is now, replacing any earlier copy. Returns how many rows were copied. */
export async function copyStore(db: D1Database): Promise<{ tables: number; rows: number }> {
  const tables = await storeTables(db);
  await db.batch(
    tables.flatMap((name) => [
      db.prepare(`DROP TABLE IF EXISTS ${quoted(COPY_PREFIX + name)}`),
      db.prepare(`CREATE TABLE ${quoted(COPY_PREFIX + name)} AS SELECT * FROM ${quoted(name)}`),
    ]),
  );
  const counts = await db.batch<{ n: number }>(tables.map((name) => db.prepare(`SELECT count(*) AS n FROM ${quoted(COPY_PREFIX + name)}`)));
  return { tables: tables.length, rows: counts.reduce((sum, r) => sum + (r.results[0]?.n ?? 0), 0) };
}

/**
 * Puts every store table back as it was copied, in one batch (all or
 * nothing), then makes every log's sequencer and this isolate forget what
 * they held, so the next request sees only the restored store.
 */
export async function restoreStore(env: Env): Promise<{ logs: number }> {
  const db = env.DB;
  const tables = await storeTables(db);
  const { results: logs } = await db.prepare('SELECT log FROM audit_logs').all<{ log: string }>();
  await db.batch([
    db.prepare('PRAGMA defer_foreign_keys = ON'),
    ...tables.map((name) => db.prepare(`DELETE FROM ${quoted(name)}`)),
    ...tables.map((name) => db.prepare(`INSERT INTO ${quoted(name)} SELECT * FROM ${quoted(COPY_PREFIX + name)}`)),
  ]);
  await Promise.all(logs.map(({ log }) => auditLogOf(env, log).reset()));
  clearIsolateCaches();
  return { logs: logs.length };
}
