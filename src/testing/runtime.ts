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
import { applyMigrations, type Migration, type SchemaAnswer } from '../platform/db/migrations.ts';

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

/** How often a start picks another free port when the one it chose was taken before workerd bound it. */
const PORT_ATTEMPTS = 5;

export async function launchWorker(options: LaunchOptions): Promise<Launched> {
  // A port chosen here is free now, not when workerd binds it: parallel test files (and Miniflare's own loopback
  // ports) can take it in between. Only a port we chose is chosen again; a port the caller named fails at once.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(options, options.port || (await freePort(options.host ?? '127.0.0.1')));
    } catch (error) {
      if (options.port || attempt >= PORT_ATTEMPTS || !isAddressInUse(error)) throw error;
    }
  }
}

const isAddressInUse = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'ERR_ADDRESS_IN_USE';

async function launchOnce(options: LaunchOptions, port: number): Promise<Launched> {
  const { workerDir, host = '127.0.0.1', persistPath, assetsDir, inspectorPort } = options;
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
  try {
    const url = await mf.ready;
    const { applied, controls } =
      options.bindings?.CUSTODES_EMULATOR === 'on' ? await schemaByTheWorker(url, migrations, options) : await schemaThroughTheProxy(mf, migrations);
    return { mf, url, applied, controls };
  } catch (error) {
    // A start that failed must not leave workerd running: its process would keep the caller (a test file) alive.
    await mf.dispose().catch(() => undefined);
    throw error;
  }
}

export { applyMigrations } from '../platform/db/migrations.ts';

/**
 * In emulator mode the Worker applies them itself, in one batch in the isolate (src/emulator/schema.ts), and resets
 * the controls unless they are kept: a moved clock or a fault rule is a test's setting, not state.
 */
async function schemaByTheWorker(url: URL, migrations: Migration[], options: LaunchOptions): Promise<SchemaAnswer> {
  const answer = await fetch(new URL('/_emulator/schema', url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${options.bindings?.EMULATOR_CONTROL_TOKEN ?? ''}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ migrations, keepControls: Boolean(options.keepControls) }),
  });
  if (!answer.ok) throw new Error(`applying the migrations failed: ${answer.status} ${await answer.text()}`);
  return (await answer.json()) as SchemaAnswer;
}

/** A Worker launched as a deployment runs (no emulator mode): its migrations from here, through Miniflare's D1 proxy (slower: a round trip a statement). */
async function schemaThroughTheProxy(mf: Miniflare, migrations: Migration[]): Promise<SchemaAnswer> {
  const applied = await applyMigrations(await mf.getD1Database('DB'), migrations);
  return { applied, controls: { clockOffsetMs: 0, faults: 0 } };
}
export type { Migration };

export const readMigrations = (dir: string): Migration[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(dir, name), 'utf8') }));
