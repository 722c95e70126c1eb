/**
 * `npm run build:worker`: the Worker as a deployment would upload it, plus
 * what a local runtime needs to run it exactly so (src/testing/runtime.ts):
 *   dist/worker/index.js        the bundle `wrangler deploy --dry-run` builds
 *   dist/worker/manifest.json   the Miniflare options wrangler derives from
 *                               wrangler.toml (its own translation, the one
 *                               `wrangler dev` uses), without .dev.vars secrets,
 *                               and the bundle's SHA-256 (the build digest a
 *                               deployment declares: src/audit/deployment)
 *   dist/worker/migrations/     drizzle/*.sql, applied in order on start
 * Skipped when nothing it is built from changed (a hash of the inputs).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const WORKER_DIR = join(root, 'dist/worker');

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));

function inputsHash(): string {
  const hash = createHash('sha256');
  const sources = filesUnder(join(root, 'src')).filter((f) => !/\.test\.ts$|[/\\](cli|sdk|testing)[/\\]/.test(f));
  for (const file of [
    ...sources,
    ...filesUnder(join(root, 'drizzle')),
    join(root, 'wrangler.toml'),
    join(root, 'package-lock.json'),
    fileURLToPath(import.meta.url),
  ].sort()) {
    hash.update(relative(root, file)).update(readFileSync(file));
  }
  return hash.digest('hex');
}

/** The build digest of a built worker directory (its manifest). */
export const buildDigestOf = (dir: string): string => (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { buildDigest: string }).buildDigest;

export async function buildWorker(out = WORKER_DIR): Promise<{ dir: string; built: boolean; buildDigest: string }> {
  const hash = inputsHash();
  const stamp = join(out, '.inputs-hash');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return { dir: out, built: false, buildDigest: buildDigestOf(out) };
  rmSync(out, { recursive: true, force: true });
  execFileSync(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', out], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
  });
  const { unstable_getMiniflareWorkerOptions, unstable_readConfig } = await import('wrangler');
  const config = unstable_readConfig({ config: join(root, 'wrangler.toml') });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, 'wrangler.toml'));
  // Only the deployment's own [vars]: wrangler also merges .dev.vars, which holds this machine's secrets.
  const vars = Object.fromEntries(
    Object.entries((workerOptions as { bindings?: Record<string, unknown> }).bindings ?? {}).filter(([name]) => name in config.vars),
  );
  // The bundle is one module (no rules to apply), the assets are the docs' (npm start adds them), and empty binding kinds say nothing.
  const { assets: _assets, rootPath: _rootPath, modulesRules: _rules, ...all } = workerOptions as Record<string, unknown>;
  const options = Object.fromEntries(
    Object.entries(all).filter(([, v]) => !(v && typeof v === 'object' && Object.keys(v).length === 0) && !(Array.isArray(v) && v.length === 0)),
  );
  // The bundle's digest: what the deployment declares as its build (CUSTODES_BUILD_DIGEST; src/audit/deployment).
  const buildDigest = `sha256:${createHash('sha256')
    .update(readFileSync(join(out, 'index.js')))
    .digest('hex')}`;
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ workerOptions: { ...options, bindings: vars }, main: 'index.js', buildDigest }, null, 2)}\n`);
  mkdirSync(join(out, 'migrations'), { recursive: true });
  for (const file of readdirSync(join(root, 'drizzle')).filter((f) => f.endsWith('.sql')))
    copyFileSync(join(root, 'drizzle', file), join(out, 'migrations', file));
  writeFileSync(stamp, hash);
  return { dir: out, built: true, buildDigest };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { dir, built, buildDigest } = await buildWorker();
  console.log(built ? `built ${dir}` : `${dir} is up to date`);
  // What a deployment declares (wrangler deploy --var CUSTODES_BUILD_DIGEST:<this>) and a verifier expects (--expect-build).
  console.log(`build digest ${buildDigest}`);
}
