/**
 * Migrations as wrangler writes them (drizzle-kit's SQL files, `--> statement-breakpoint`
 * between statements) applied to a D1 database: what a local start does
 * (src/emulator/schema.ts) and what the benches do to a bare D1.
 */

export interface Migration {
  name: string;
  sql: string;
}

/** What a local start's `POST /_emulator/schema` answers (src/emulator/schema.ts): the migrations it applied, and the controls it found. */
export interface SchemaAnswer {
  applied: string[];
  controls: { clockOffsetMs: number; faults: number };
}

/** wrangler's own bookkeeping table (`wrangler d1 migrations apply`), so either tool sees the other's work. */
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;

/** What applying needs of a D1 binding (the Worker's, or Miniflare's proxy of it). */
interface D1Like<Statement> {
  prepare(sql: string): Statement & { bind(...values: unknown[]): Statement };
  batch(statements: Statement[]): Promise<{ results: unknown[] }[]>;
}

/**
 * Applies the migrations the database has not seen, in order, with their
 * bookkeeping rows, in ONE batch: all of them, or none. Answers the names
 * applied: the count a start reports is this, not a guess.
 */
export async function applyMigrations<Statement>(db: D1Like<Statement>, migrations: readonly Migration[]): Promise<string[]> {
  const [, seen] = await db.batch([db.prepare(MIGRATIONS_TABLE), db.prepare('SELECT name FROM d1_migrations')]);
  const done = new Set((seen!.results as { name: string }[]).map((r) => r.name));
  const pending = migrations.filter((m) => !done.has(m.name));
  if (pending.length === 0) return [];
  await db.batch(
    pending.flatMap((migration) => [
      // drizzle-kit separates statements with this marker; a trigger's body keeps its own semicolons.
      ...migration.sql
        .split('--> statement-breakpoint')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => db.prepare(s)),
      db.prepare('INSERT INTO d1_migrations (name) VALUES (?)').bind(migration.name),
    ]),
  );
  return pending.map((m) => m.name);
}
