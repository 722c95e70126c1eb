/**
 * `npm run deploy:check` (part of `npm test`): the Worker as `wrangler deploy`
 * would upload it — built by `wrangler deploy --dry-run`, never cached — and
 * held to the Workers platform's limits, so a change that breaks the
 * deployment fails here rather than on deploy day:
 *   - the bundle builds, with every binding wrangler.toml names;
 *   - its gzip size is within the Workers Free plan's 3 MB (the paid plans
 *     allow 10 MB; `WORKER_SIZE_LIMIT_KIB` sets another bound);
 *   - each static asset is within 25 MiB, and there are at most 20,000.
 * Limits: https://developers.cloudflare.com/workers/platform/limits/
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const KIB = 1024;
/** 3 MB, as Cloudflare counts it (the Free plan's bound on a Worker after compression). */
export const FREE_PLAN_LIMIT_KIB = (3 * 1000 * 1000) / KIB;
const ASSET_LIMIT_BYTES = 25 * KIB * KIB;
const ASSET_COUNT_LIMIT = 20_000;

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));

export interface DeployCheck {
  bundleKiB: number;
  gzipKiB: number;
  limitKiB: number;
  bindings: string[];
  assets: number;
  problems: string[];
}

export function deployCheck({ limitKiB = Number(process.env.WORKER_SIZE_LIMIT_KIB ?? FREE_PLAN_LIMIT_KIB) }: { limitKiB?: number } = {}): DeployCheck {
  const out = mkdtempSync(join(tmpdir(), 'custodes-deploy-'));
  try {
    let printed: string;
    try {
      printed = execFileSync(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', out], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
      });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      return { bundleKiB: 0, gzipKiB: 0, limitKiB, bindings: [], assets: 0, problems: [`wrangler deploy --dry-run failed:\n${stdout}${stderr}`] };
    }
    const bundle = readFileSync(join(out, 'index.js'));
    const gzipKiB = gzipSync(bundle).length / KIB;
    const bindings = [...printed.matchAll(/^env\.(\w+)/gm)].map((m) => m[1]!);
    const assets = filesUnder(join(root, 'public'));
    const problems = [
      ...(gzipKiB > limitKiB ? [`the bundle is ${gzipKiB.toFixed(0)} KiB gzipped, over the ${limitKiB.toFixed(0)} KiB limit`] : []),
      ...assets.filter((f) => statSync(f).size > ASSET_LIMIT_BYTES).map((f) => `asset ${f} is over 25 MiB`),
      ...(assets.length > ASSET_COUNT_LIMIT ? [`${assets.length} assets, over ${ASSET_COUNT_LIMIT}`] : []),
      ...['DB', 'AUDIT_LOG', 'PRINCIPAL_RATE_LIMIT', 'ADDRESS_RATE_LIMIT'].filter((b) => !bindings.includes(b)).map((b) => `the dry run lists no binding ${b}`),
    ];
    return { bundleKiB: bundle.length / KIB, gzipKiB, limitKiB, bindings, assets: assets.length, problems };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = deployCheck();
  console.log(
    `wrangler deploy --dry-run: bundle ${check.bundleKiB.toFixed(0)} KiB, ${check.gzipKiB.toFixed(0)} KiB gzipped (limit ${check.limitKiB.toFixed(0)} KiB); ${check.assets} static assets; bindings ${check.bindings.join(', ')}`,
  );
  if (check.problems.length > 0) {
    console.error(check.problems.map((p) => `deploy check: ${p}`).join('\n'));
    process.exit(1);
  }
}
