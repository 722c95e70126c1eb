/**
 * Reset: every table emptied (the migrations' own bookkeeping and the
 * enrolled admins kept), every log's sequencer forgotten, the isolate's
 * caches of D1 state cleared. The next record of any log is its index 0,
 * under a fresh checkpoint: the provider log starts again with the audit key's
 * activation and the reset's own record. A store copy kept for a
 * rollback-store rule is dropped.
 *
 * Why one read and one call (issue 34: a tenant's test suite resets between
 * tests): one read batch learns which tables hold rows, which logs exist and
 * which rollback copies are kept; then the provider log's sequencer commits,
 * in ONE D1 batch, the emptying of those tables, the copies' drop, the
 * provider log's new head and its two records — all or nothing, where
 * emptying, re-creating the head and appending took five round trips. The
 * other logs' sequencers forget meanwhile. The table names are read once per
 * isolate: the schema is fixed once the migrations ran.
 */
import type { Env } from '../env';
import { auditLogOf, restartLog } from '../audit/log/append';
import type { CommitResult, WriteStatement } from '../audit/log/commit';
import type { AppendEntry } from '../audit/log/extensions';
import { PROVIDER_LOG } from '../audit/log/logs';
import { withFirstKey } from '../audit/signing/audit-key-registry';
import type { RecordDraft } from '../audit/format/record';
import { clearIsolateCaches } from '../platform/isolate-caches';
import { setClockOffset } from '../platform/clock';
import { COPY_PREFIX, NOT_APPLICATION_DATA, quoted } from './store-copy';

/** What a reset keeps: the enrolled admins (and with them the end of the bootstrap ceremony) — a reset empties the data, not who runs the instance. */
const KEPT = new Set(['admins', 'bootstrap_reenables']);

/** The application's tables that a reset empties (rollback copies aside): read once per isolate. */
let resettable: string[] | null = null;

const COPY_NAME = `name LIKE '${COPY_PREFIX.replace(/_/g, '\\_')}%' ESCAPE '\\'`;

async function resettableTables(db: D1Database): Promise<string[]> {
  resettable ??= (
    await db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND ${NOT_APPLICATION_DATA} AND NOT ${COPY_NAME}`).all<{ name: string }>()
  ).results
    .map((r) => r.name)
    .filter((name) => !KEPT.has(name));
  return resettable;
}

export interface Cleared {
  tables: number;
  logs: number;
}

/**
 * Empties the store and starts the logs again; `record` drafts the reset's own record from what was cleared. Resolves
 * with what was cleared and where the record landed.
 */
export async function resetEmulator(env: Env, record: (cleared: Cleared) => RecordDraft): Promise<{ cleared: Cleared; result: CommitResult }> {
  const db = env.DB;
  const tables = await resettableTables(db);
  // Which tables hold rows, which logs exist, which rollback copies are kept: one round trip, so that the batch
  // below carries only what there is to clear (a test's reset finds a handful of the tables filled).
  const [filled, logs, copies] = await db.batch<Record<string, number | string>>([
    db.prepare(`SELECT ${tables.map((name, i) => `EXISTS (SELECT 1 FROM ${quoted(name)}) AS t${i}`).join(', ')}`),
    db.prepare('SELECT log FROM audit_logs'),
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND ${COPY_NAME}`),
  ]);
  const holding = filled!.results[0] ?? {};
  const logNames = logs!.results.map((r) => String(r.log));
  const cleared = { tables: tables.length, logs: logNames.length };
  const clearing: WriteStatement[] = [
    { sql: 'PRAGMA defer_foreign_keys = ON', params: [] },
    ...copies!.results.map((r) => ({ sql: `DROP TABLE ${quoted(String(r.name))}`, params: [] })),
    ...tables.filter((_, i) => holding[`t${i}`] === 1).map((name) => ({ sql: `DELETE FROM ${quoted(name)}`, params: [] })),
  ];
  clearIsolateCaches();
  setClockOffset(0);
  const draft = record(cleared);
  const first = await withFirstKey(env, { requestId: draft.requestId, request: draft.request }, { draft, writes: [] } satisfies AppendEntry);
  // The other logs' sequencers forget meanwhile: one that reloaded its head before the batch lands finds it gone at
  // its next append (the head's guard), so the order does not matter.
  const others = logNames.filter((log) => log !== PROVIDER_LOG);
  const [results] = await Promise.all([restartLog(env, PROVIDER_LOG, clearing, first.entries), ...others.map((log) => auditLogOf(env, log).reset())]);
  if (results[0]?.ok) first.committed();
  return { cleared, result: results.at(-1)! };
}
