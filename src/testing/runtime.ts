/**
 * The Worker on Miniflare (workerd), from Node: the runtime under both
 * `startCustodes` (tenants' test suites) and `npm start`. It runs the bundle
 * `wrangler deploy --dry-run` builds — the artifact a deployment uploads —
 * with the bindings wrangler derives from wrangler.toml
 * (scripts/build-worker.ts writes both into the worker directory), and applies
 * the schema directly: the migration files in order, tracked in the
 * `d1_migrations` table exactly as `wrangler d1 migrations apply` tracks them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';

/** What scripts/build-worker.ts writes beside the bundle: the deployment's configuration, minus its secrets. */
export interface WorkerManifest {
  /** Miniflare worker options as wrangler derives them from wrangler.toml (bindings: `[vars]` only). */
  workerOptions: Record<string, unknown>;
  /** The bundle, relative to the worker directory. */
  main: string;
  /** `sha256:` + hex of the bundle: the build this runtime declares (CUSTODES_BUILD_DIGEST). */
  buildDigest?: string;
}

export interface LaunchOptions {
  /** Directory with manifest.json, the bundle and migrations/. */
  workerDir: string;
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Where D1 and the Durable Objects persist; unset: in memory, gone on close. */
  persistPath?: string;
  /** Vars and secrets on top of the manifest's `[vars]`. */
  bindings?: Record<string, string>;
  /** Serve the static assets (the docs bundle) too. Default off: a test suite does not need them. */
  assetsDir?: string;
  /** Open workerd's V8 inspector on this port (CPU profiles, breakpoints: chrome://inspect). Default: closed. */
  inspectorPort?: number;
  /** Keep the emulator's clock offset and fault rules from the persisted state. Default: a start clears them. */
  keepControls?: boolean;
}

export interface Launched {
  mf: Miniflare;
  url: URL;
  /** Migration files applied by this launch (none when the database was up to date). */
  applied: string[];
  /** The emulator's controls in force after the start: what a persisted state kept (`keepControls`), else none. */
  controls: { clockOffsetMs: number; faults: number };
}

export const readManifest = (workerDir: string): WorkerManifest => JSON.parse(readFileSync(join(workerDir, 'manifest.json'), 'utf8'));

/** A port free on `host` now: the Worker must know its own origin (CUSTODES_ORIGIN) before it starts. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A fresh secret for the emulator's controls (src/emulator/guard.ts): 32 random bytes, base64url. */
export const newControlToken = (): string => `emu_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`;

export async function launchWorker(options: LaunchOptions): Promise<Launched> {
  const { workerDir, host = '127.0.0.1', persistPath, assetsDir, inspectorPort } = options;
  const port = options.port || (await freePort(host));
  const origin = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;
  const manifest = readManifest(workerDir);
  const migrations = readMigrations(join(workerDir, 'migrations'));
  // The Worker answers 503 until the last of these is applied: the port opens before they are.
  const schema = migrations.at(-1)?.name;
  const bindings = {
    CUSTODES_ORIGIN: origin,
    CUSTODES_STATE_PATH: persistPath ? resolve(persistPath) : '',
    ...(schema ? { CUSTODES_SCHEMA: schema } : {}),
    ...(manifest.buildDigest ? { CUSTODES_BUILD_DIGEST: manifest.buildDigest } : {}),
    ...options.bindings,
  };
  const worker = {
    ...manifest.workerOptions,
    name: 'custodes',
    modules: true,
    scriptPath: join(workerDir, manifest.main),
    rootPath: workerDir,
    bindings: { ...(manifest.workerOptions.bindings as Record<string, string>), ...bindings },
    // As wrangler configures them (relative paths would resolve against the worker directory).
    ...(assetsDir ? { assets: { directory: resolve(assetsDir), routerConfig: { has_user_worker: true } } } : {}),
  };
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host,
      port,
      ...(persistPath ? { resourcePersistencePath: persistPath } : {}),
      ...(inspectorPort !== undefined ? { inspectorPort } : {}),
      workers: [worker as never],
    } as never),
  );
  const url = await mf.ready;
  const db = await mf.getD1Database('DB');
  const applied = await applyMigrations(db, migrations);
  // A moved clock or a fault rule is a test's setting, not state: a restart starts clean unless asked not to.
  const read = db.prepare('SELECT clock_offset_ms AS clockOffsetMs, faults FROM emulator_state WHERE id = 1');
  const answers = await db.batch(
    options.keepControls ? [read] : [db.prepare("UPDATE emulator_state SET clock_offset_ms = 0, faults = '[]' WHERE id = 1"), read],
  );
  const row = answers.at(-1)!.results[0] as { clockOffsetMs: number; faults: string } | undefined;
  const controls = { clockOffsetMs: row?.clockOffsetMs ?? 0, faults: row ? (JSON.parse(row.faults) as unknown[]).length : 0 };
  return { mf, url, applied, controls };
}

/** Miniflare's D1 binding, as the runtime hands it to Node. */
type D1 = Awaited<ReturnType<Miniflare['getD1Database']>>;

export interface Migration {
  name: string;
  sql: string;
}

export const readMigrations = (dir: string): Migration[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(dir, name), 'utf8') }));

/** wrangler's own bookkeeping table (`wrangler d1 migrations apply`), so either tool sees the other's work. */
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;

/**
 * Applies the migrations the database has not seen, in order, with their
 * bookkeeping rows, in ONE batch: all of them, or none (issue 34: a fresh
 * instance's schema is one round trip to workerd, not one per migration).
 * Answers the names applied: the count a start reports is this, not a guess.
 */
export async function applyMigrations(db: D1, migrations: Migration[]): Promise<string[]> {
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
