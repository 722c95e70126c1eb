/**
 * The same comparison on the programmatic Miniflare runtime (what `npm start`
 * and `custodes/testing` run, with no `wrangler dev` proxy in front): the
 * reference Worker (`ok`, one INSERT, the floors) and the audited VM create, at
 * 16 and 64 clients, with the CPU the workerd processes spent a request
 * (/proc): the one JS thread every isolate shares is what bounds req/s. Three
 * rounds, each scenario once per round; figures are the rounds' medians and
 * each ratio the median of the rounds' own. The Custodes Worker is the
 * deployment bundle (scripts/build-worker.ts) with its rate limits raised out
 * of reach, as the wrangler dev bench does.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { buildWorker } from '../scripts/build-worker';
import { applyMigrations, launchWorker, readMigrations } from '../src/testing/runtime';
import { load, REQUESTS, vmCreates, type Figures } from './load';
import { DIR, enrolInstanceAdmin, instanceSecrets, median, mintTokens, roomForCreates, workerdCpuMs, type Principal } from './workers';

export const SCENARIOS = {
  ok: 'trivial Worker answering ok',
  insert: 'trivial Worker doing one D1 INSERT',
  floor: "floor: an audited create's one D1 batch, nothing else",
  design: 'design floor: that batch from a group-committing Durable Object, with the Ed25519 verify and signatures',
  limited: 'design floor + the rate limiter as the API calls it (once per 40 requests)',
  audited: 'audited VM create, one tenant',
} as const;
export type Scenario = keyof typeof SCENARIOS;

/**
 * A scenario's median figures over the rounds, its ratio to the one-INSERT Worker (median of the rounds'), and workerd's
 * CPU ms a request, also ÷ the design floor's in the same round (median of the rounds'): the machine drifts ±20% within
 * minutes, and a ratio of two medians taken minutes apart moves with it (issue 34 saw 1.27–1.66 for one build at 16 clients).
 */
export interface RuntimeRow extends Figures {
  vsInsert: number;
  cpuMs: number;
  cpuVsDesign: number;
}
export type RuntimeCeiling = Record<Scenario, Record<16 | 64, RuntimeRow>>;

const ROUNDS = 3;

export async function referenceOnMiniflare(): Promise<{ mf: Miniflare; url: string }> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: 0,
      // As bench/wrangler.reference.toml configures it: D1, the floor's Durable Object, one rate limiter.
      workers: [
        {
          name: 'reference',
          compatibilityDate: '2026-11-01',
          modules: true,
          scriptPath: resolve('bench/reference-worker.js'),
          d1Databases: { DB: 'reference' },
          durableObjects: { FLOOR: { className: 'FloorSequencer', useSQLite: true } },
          ratelimits: { LIMIT: { namespace_id: '2001', simple: { limit: 1_000_000, period: 10 } } },
        },
      ],
    } as never),
  );
  const url = (await mf.ready).origin;
  await applyMigrations(await mf.getD1Database('DB'), readMigrations('drizzle')); // the floors write the real tables
  await fetch(`${url}/seed`, { method: 'POST' });
  return { mf, url };
}

/** The built worker at `dir` copied to .bench/`name`, its manifest's rate limits out of reach. */
export function unlimitedCopy(dir: string, name: string): string {
  const copy = resolve(DIR, name);
  rmSync(copy, { recursive: true, force: true });
  cpSync(dir, copy, { recursive: true });
  const manifestFile = join(copy, 'manifest.json');
  writeFileSync(manifestFile, readFileSync(manifestFile, 'utf8').replace(/"limit":\s*\d+/g, '"limit": 100000000'));
  return copy;
}

/** The bundle in a directory of its own, its manifest's rate limits out of reach. */
export const unlimitedBundle = async (): Promise<string> => unlimitedCopy((await buildWorker()).dir, 'miniflare-worker');

/** The reference Worker and the Custodes bundle on Miniflare, with hosts and `tenantCount` tenants (4096 one-vCPU VMs each) to create VMs in. */
export async function miniflareInstances(
  tenantCount = 2,
): Promise<{ reference: string; custodes: string; admin: Principal; tenants: string[]; dispose: () => Promise<void> }> {
  mkdirSync(DIR, { recursive: true });
  const reference = await referenceOnMiniflare();
  const { admin, vars } = await instanceSecrets();
  const custodes = await launchWorker({ workerDir: await unlimitedBundle(), bindings: vars });
  const url = custodes.url.origin;
  await enrolInstanceAdmin(url, vars); // the bootstrap ceremony: a bootstrap key only enrols
  const tenants = await roomForCreates(url, admin, { hosts: tenantCount * 2, tenants: tenantCount, name: 'mf' });
  return {
    reference: reference.url,
    custodes: url,
    admin,
    tenants,
    dispose: async () => void (await Promise.all([custodes.mf.dispose(), reference.mf.dispose()])),
  };
}

export async function miniflareCeiling(): Promise<RuntimeCeiling> {
  const { reference, custodes: url, admin, tenants, dispose } = await miniflareInstances(2 * ROUNDS + 1);
  try {
    const body = JSON.stringify({ name: 'vm', vcpus: 1, memoryMiB: 128 });
    await load('warm-up', 16, { url: `${reference}/ok`, amount: 300 });
    await load('warm-up', 16, { url: `${reference}/design-floor-limited`, method: 'POST', body, amount: 300 });
    await load('warm-up', 16, {
      url,
      amount: 200,
      requests: vmCreates(await mintTokens(admin, 300), tenants[0]!, { offset: 900_000 }),
    });
    const runs: { scenario: Scenario; clients: 16 | 64; figures: Figures; cpuMs: number }[] = [];
    const measured = async (scenario: Scenario, clients: 16 | 64, options: Parameters<typeof load>[2]) => {
      const before = workerdCpuMs();
      const figures = await load(SCENARIOS[scenario], clients, options);
      runs.push({ scenario, clients, figures, cpuMs: (workerdCpuMs() - before) / figures.requests });
    };
    const route = (path: string) => ({ url: `${reference}${path}`, method: 'POST' as const, body });
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, clients] of ([16, 64] as const).entries()) {
        await measured('ok', clients, { url: `${reference}/ok` });
        await measured('insert', clients, route('/insert'));
        await measured('floor', clients, route('/audited-floor'));
        await measured('design', clients, route('/design-floor'));
        await measured('limited', clients, route('/design-floor-limited'));
        const tokens = await mintTokens(admin, REQUESTS + 400);
        await measured('audited', clients, {
          url,
          requests: vmCreates(tokens, tenants[1 + 2 * round + i]!, { offset: round * 100_000 }),
        });
      }
    }
    const ceiling = Object.fromEntries(Object.keys(SCENARIOS).map((s) => [s, {}])) as RuntimeCeiling;
    for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
      for (const clients of [16, 64] as const) {
        const mine = runs.filter((r) => r.scenario === scenario && r.clients === clients);
        const inRound = (other: Scenario, k: number) => runs.filter((x) => x.scenario === other && x.clients === clients)[k]!;
        const ratios = mine.map((r, k) => r.figures.rps / inRound('insert', k).figures.rps);
        ceiling[scenario][clients] = {
          title: SCENARIOS[scenario],
          connections: clients,
          requests: mine[0]!.figures.requests,
          rps: median(mine.map((r) => r.figures.rps)),
          p50: median(mine.map((r) => r.figures.p50)),
          p99: median(mine.map((r) => r.figures.p99)),
          unexpected: mine.reduce((sum, r) => sum + r.figures.unexpected, 0),
          vsInsert: median(ratios),
          cpuMs: median(mine.map((r) => r.cpuMs)),
          cpuVsDesign: median(mine.map((r, k) => r.cpuMs / inRound('design', k).cpuMs)),
        };
      }
    }
    return ceiling;
  } finally {
    await dispose();
  }
}

/** The report's table of the Miniflare runtime. */
export function runtimeTable(ceiling: RuntimeCeiling): string[] {
  return [
    '| scenario | clients | req/s | p50 ms | p99 ms | ÷ one-INSERT Worker | workerd CPU ms a request | CPU ÷ design floor, same round | non-2xx/errors |',
    '|---|---|---|---|---|---|---|---|---|',
    ...([16, 64] as const).flatMap((clients) =>
      (Object.keys(SCENARIOS) as Scenario[]).map((s) => {
        const r = ceiling[s][clients];
        return `| ${r.title} | ${clients} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.vsInsert.toFixed(2)} | ${r.cpuMs.toFixed(2)} | ${r.cpuVsDesign.toFixed(2)} | ${r.unexpected} |`;
      }),
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(runtimeTable(await miniflareCeiling()).join('\n'));
  process.exit(0);
}
