/**
 * The emulator's whole state as one file (issue 31): every application
 * table of D1 — so every log, page, key registration and change request —
 * with the migrations it was written under and the audit signing key that
 * signed its logs. `GET /_emulator/state` writes it, `PUT /_emulator/state`
 * loads it (`custodes emulator export|import`, `emu.snapshot()`,
 * `startCustodes({ from })`). LocalStack keeps this behind a paid plan.
 *
 * Versioned twice: `version` is this document's shape, `migrations` the
 * schema its rows fit. A file from an older Custodes (fewer migrations) is
 * loaded column by column into today's tables — the migrations add tables and
 * defaulted columns, so the rows still fit — and the answer says which
 * migrations it was brought through. A file from a newer one (a shape or a
 * migration this build does not know) is refused, saying so.
 *
 * The file holds the audit signing key's private half: it is the emulator's
 * own key, and a restored log must go on under the key that signed it. A
 * file is loaded only into an instance that runs with that same key (else
 * `state_key_mismatch`: start one from the file instead).
 */
import type { Env } from '../env';
import type { JWK } from 'jose';
import { auditLogOf } from '../audit/log/append';
import { clearIsolateCaches } from '../platform/isolate-caches';
import { quoted, storeTables } from './store-copy';
import { base64Of, base64ToBytes } from '../lib/bytes';

export const STATE_FORMAT = 'custodes-emulator-state';
export const STATE_VERSION = 1;

/** A value as the file holds it: JSON, with bytes as `{ "$base64": … }`. */
type Cell = string | number | null | { $base64: string };

export interface StateFile {
  format: typeof STATE_FORMAT;
  version: number;
  exportedAt: string;
  /** The migrations applied when it was written, oldest first. */
  migrations: string[];
  /** The audit signing key (private JWK): a restored log goes on under it. */
  auditKey: JWK;
  /** The bootstrap admins' public keys the instance ran with. */
  bootstrapAdmins: JWK[];
  /** The bootstrap admins' private keys, when the writer held them (`emu.snapshot()`); the Worker never does. */
  adminKeys?: JWK[];
  tables: Record<string, { columns: string[]; rows: Cell[][] }>;
}

export type StateLoad =
  | { ok: true; tables: number; rows: number; migratedThrough: string[] }
  | { ok: false; code: 'state_unreadable' | 'state_too_new' | 'state_key_mismatch'; detail: string };

const appliedMigrations = async (db: D1Database): Promise<string[]> =>
  (await db.prepare('SELECT name FROM d1_migrations ORDER BY id').all<{ name: string }>()).results.map((r) => r.name);

const toCell = (value: unknown): Cell => {
  if (value instanceof ArrayBuffer) return { $base64: Buffer.from(value).toString('base64') };
  if (ArrayBuffer.isView(value)) return { $base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return { $base64: base64Of(Uint8Array.from(value as number[])) }; // D1 hands BLOBs over as byte arrays
  return value as Cell;
};
/**
 * Cells a migration changed in place, as a file written before it holds them: such a file's rows are
 * brought through the change as they load (the migration itself ran on this instance's own rows).
 */
const CELL_UPGRADES: { migration: string; table: string; column: string; upgrade: (cell: Cell) => Cell }[] = [
  // 0021: envelopes were base64 text, now BLOBs — and a BLOB cell is base64 in the file already.
  { migration: '0021_envelopes_as_blobs', table: 'content_versions', column: 'envelope', upgrade: (c) => (typeof c === 'string' ? { $base64: c } : c) },
];

const fromCell = (cell: Cell): unknown => (cell !== null && typeof cell === 'object' ? base64ToBytes(cell.$base64) : cell);

/** Each table's column names, in order, from the schema (so an empty table says its columns too). */
const columnsOf = async (db: D1Database, tables: string[]): Promise<string[][]> =>
  (await db.batch<{ name: string }>(tables.map((name) => db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').bind(name)))).map((r) =>
    r.results.map((c) => c.name),
  );

/** The audit signing key this instance runs with. */
const runningAuditKey = (env: Env): JWK => JSON.parse(env.AUDIT_SIGNING_JWK ?? '{}') as JWK;

const publicKeys = (jwks: string | undefined): JWK[] => {
  if (!jwks) return [];
  const parsed = JSON.parse(jwks) as { keys?: JWK[] } & JWK;
  return parsed.keys ?? [parsed];
};

export async function exportState(env: Env, now: string): Promise<StateFile> {
  const db = env.DB;
  const tables = await storeTables(db);
  const dumps = await db.batch(tables.map((name) => db.prepare(`SELECT * FROM ${quoted(name)}`)));
  const columns = await columnsOf(db, tables);
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    exportedAt: now,
    migrations: await appliedMigrations(db),
    auditKey: runningAuditKey(env),
    bootstrapAdmins: publicKeys(env.BOOTSTRAP_ADMIN_JWK),
    tables: Object.fromEntries(
      tables.map((name, i) => {
        const names = columns[i]!;
        const rows = (dumps[i]!.results as Record<string, unknown>[]).map((row) => names.map((column) => toCell(row[column])));
        return [name, { columns: names, rows }];
      }),
    ),
  };
}

/** Loads `file` in place of every table's rows, in one batch; then every log's sequencer and this isolate forget what they held. */
export async function importState(env: Env, file: unknown): Promise<StateLoad> {
  const db = env.DB;
  const state = file as Partial<StateFile> | null;
  if (
    !state ||
    typeof state !== 'object' ||
    state.format !== STATE_FORMAT ||
    typeof state.tables !== 'object' ||
    !Array.isArray(state.migrations) ||
    !state.auditKey
  ) {
    return {
      ok: false,
      code: 'state_unreadable',
      detail: `This is not a Custodes emulator state file (format "${STATE_FORMAT}", from \`custodes emulator export\` or emu.snapshot()).`,
    };
  }
  if (typeof state.version !== 'number' || state.version > STATE_VERSION) {
    return {
      ok: false,
      code: 'state_too_new',
      detail: `The file is version ${String(state.version)} of the state format; this Custodes reads up to version ${STATE_VERSION}. Load it with the Custodes that wrote it, or a newer one.`,
    };
  }
  const ours = await appliedMigrations(db);
  const unknown = state.migrations.filter((m) => !ours.includes(m));
  if (unknown.length)
    return {
      ok: false,
      code: 'state_too_new',
      detail: `The file was written under migrations this Custodes does not have (${unknown.join(', ')}): a newer Custodes wrote it. Load it with that version or a newer one.`,
    };
  if (state.auditKey.x !== runningAuditKey(env).x) {
    return {
      ok: false,
      code: 'state_key_mismatch',
      detail:
        "The file's logs are signed by another audit key than this instance runs with: start an instance from the file instead (startCustodes({ from: file }) with a file emu.snapshot() wrote), so its logs go on under their own key.",
    };
  }

  const tables = await storeTables(db);
  const current = new Map((await columnsOf(db, tables)).map((names, i) => [tables[i]!, new Set(names)]));
  const inserts: D1PreparedStatement[] = [];
  for (const [name, table] of Object.entries(state.tables)) {
    const columns = current.get(name);
    if (!columns) return { ok: false, code: 'state_too_new', detail: `The file has a table this Custodes does not (${name}).` };
    // Today's columns that the file has; a column added since takes its default.
    const kept = table.columns.map((column, i) => [column, i] as const).filter(([column]) => columns.has(column));
    if (kept.length === 0) continue;
    const sql = `INSERT INTO ${quoted(name)} (${kept.map(([c]) => quoted(c)).join(', ')}) VALUES (${kept.map(() => '?').join(', ')})`;
    const upgrades = CELL_UPGRADES.filter((u) => u.table === name && !state.migrations!.some((m) => m.startsWith(u.migration)));
    const cellOf = ([column, i]: readonly [string, number], row: Cell[]): unknown =>
      fromCell(upgrades.reduce((cell, u) => (u.column === column ? u.upgrade(cell) : cell), row[i] ?? null));
    try {
      for (const row of table.rows) inserts.push(db.prepare(sql).bind(...kept.map((column) => cellOf(column, row))));
    } catch (error) {
      // A cell that is not a value (a BLOB whose base64 does not decode, a row that is no array): refused before anything is replaced.
      return { ok: false, code: 'state_unreadable', detail: `Table ${name} of the file holds a row that cannot be read: ${(error as Error).message}.` };
    }
  }
  const { results: before } = await db.prepare('SELECT log FROM audit_logs').all<{ log: string }>();
  // One batch: the state is replaced whole or not at all; foreign keys are checked at its end.
  await db.batch([db.prepare('PRAGMA defer_foreign_keys = ON'), ...tables.map((name) => db.prepare(`DELETE FROM ${quoted(name)}`)), ...inserts]);
  const { results: after } = await db.prepare('SELECT log FROM audit_logs').all<{ log: string }>();
  await Promise.all([...new Set([...before, ...after].map((r) => r.log))].map((log) => auditLogOf(env, log).reset()));
  clearIsolateCaches();
  return { ok: true, tables: Object.keys(state.tables).length, rows: inserts.length, migratedThrough: ours.filter((m) => !state.migrations!.includes(m)) };
}
