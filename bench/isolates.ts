/**
 * `npm run bench:isolates`: where an audited request's CPU goes, isolate by
 * isolate, on the programmatic Miniflare runtime (what `npm start` runs).
 *
 * workerd runs every isolate of a Miniflare instance — Miniflare's entry
 * Worker that fronts each request, this Worker (with its Durable Objects),
 * D1's emulation, the rate limiter's — in one process, and under load that
 * process's JS thread is what bounds throughput. So the figure that decides
 * is CPU per request, per isolate: V8 CPU profiles of each, taken at once
 * through workerd's inspector while 16 clients create VMs (each with a fresh
 * token), and the same for the reference Worker's one INSERT. `(idle)`
 * samples are excluded: they are an isolate waiting, not computing. The rest
 * of the process (the HTTP layer, SQLite itself, the kernel) is the /proc
 * total less the isolates' sum.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { resolve } from 'node:path';
import { launchWorker } from '../src/testing/runtime';
import { load, signedRequests } from './load';
import { inspector, selfTimes, type CpuProfile } from './profile';
import { unlimitedBundle } from './runtimes';
import { api, DIR, instanceSecrets, mintTokens, newPrincipal, publicOf, workerdCpuMs } from './workers';

const SAMPLING_MICROSECONDS = 100;
const PROFILED_REQUESTS = Number(process.env.BENCH_PROFILED_REQUESTS ?? 2000);

export interface IsolateCpu {
  title: string;
  requests: number;
  rps: number;
  /** CPU ms a request, per isolate (its on-CPU samples), and `process` for workerd as a whole (/proc). */
  perRequest: Record<string, number>;
  /** This Worker's own isolate: [function, share of its on-CPU samples], largest first. */
  top: [string, number][];
}

/** The isolates worth naming; the rest of the process is counted in its total. */
const ISOLATE_NAMES: Record<string, string> = {
  'core:entry': "Miniflare's entry Worker (fronts every request)",
  'd1:db': "D1's emulation (its Durable Object, SQLite calls included)",
  'd1:db:entry': "D1's entry Worker",
  'ratelimit:ns': "the rate limiter's emulation",
  'ratelimit:ns:entry': "the rate limiter's entry Worker",
};

async function profileIsolates(inspectorPort: number, userWorker: string, run: () => Promise<{ requests: number; rps: number }>, title: string): Promise<IsolateCpu> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
  const wanted = targets.filter((t) => t.id === userWorker || t.id in ISOLATE_NAMES || t.id.startsWith('d1:') || t.id.startsWith('ratelimit:'));
  const sessions = await Promise.all(wanted.map(async (t) => ({ id: t.id, session: await inspector(t.webSocketDebuggerUrl, {}) })));
  for (const { session } of sessions) {
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: SAMPLING_MICROSECONDS });
  }
  const cpuBefore = workerdCpuMs();
  await Promise.all(sessions.map(({ session }) => session.send('Profiler.start')));
  const { requests, rps } = await run();
  const profiles = await Promise.all(sessions.map(async ({ id, session }) => ({ id, profile: (await session.send<{ profile: CpuProfile }>('Profiler.stop')).profile })));
  const processMs = workerdCpuMs() - cpuBefore;
  for (const { session } of sessions) session.close();
  const perRequest: Record<string, number> = {};
  let top: [string, number][] = [];
  mkdirSync(DIR, { recursive: true });
  for (const { id, profile } of profiles) {
    // On-CPU time: the samples' own time deltas, less those V8 attributes to (idle).
    const idleNode = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const onCpuUs = profile.samples.reduce((sum, node, i) => sum + (idleNode.has(node) ? 0 : (profile.timeDeltas?.[i] ?? SAMPLING_MICROSECONDS)), 0);
    perRequest[id] = onCpuUs / 1000 / requests;
    writeFileSync(`${DIR}/${title.replace(/\W+/g, '-')}-${id.replace(/\W+/g, '-')}.cpuprofile`, JSON.stringify(profile)); // opens in DevTools
    if (id === userWorker) top = selfTimes({ ...profile, samples: profile.samples.filter((s) => !idleNode.has(s)) });
  }
  perRequest.process = processMs / requests;
  return { title, requests, rps, perRequest, top };
}

export async function measureIsolates(): Promise<IsolateCpu[]> {
  mkdirSync(DIR, { recursive: true });
  const { admin, vars } = await instanceSecrets();
  const inspectorPort = 9400 + Math.floor(Math.random() * 200);
  const custodes = await launchWorker({ workerDir: await unlimitedBundle(), bindings: vars, inspectorPort });
  const url = custodes.url.origin;
  const results: IsolateCpu[] = [];
  try {
    const setup = await mintTokens(admin, 20);
    for (let i = 0; i < 2; i++) await api(url, setup, 'POST', '/v1/admin/hosts', { name: `h${i}`, vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 });
    const owner = await newPrincipal('pending');
    const tenant = await api(url, setup, 'POST', '/v1/admin/tenants', { name: 't', ownerKey: publicOf(owner.jwk), quota: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 } });
    const creates = async (amount: number, offset: number) =>
      load('audited VM create', 16, { url, amount, requests: signedRequests(await mintTokens(admin, amount + 50), 'POST', () => `/v1/admin/tenants/${tenant.id}/vms`, (n) => ({ name: `vm-${n + offset}`, vcpus: 1, memoryMiB: 128 })) });
    await creates(300, 0);
    results.push(await profileIsolates(inspectorPort, 'core:user:custodes', () => creates(PROFILED_REQUESTS, 10_000), 'audited VM create, 16 clients'));
  } finally {
    await custodes.mf.dispose();
  }
  // The reference Worker's one INSERT, alone on its own instance, the same way.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: 0,
      inspectorPort: inspectorPort + 1,
      workers: [{ name: 'reference', compatibilityDate: '2026-11-01', modules: true, scriptPath: resolve('bench/reference-worker.js'), d1Databases: { DB: 'reference' } }],
    } as never),
  );
  try {
    const reference = (await mf.ready).origin;
    await fetch(`${reference}/seed`, { method: 'POST' });
    const inserts = (amount: number) => load('one D1 INSERT', 16, { url: `${reference}/insert`, method: 'POST', body: JSON.stringify({ name: 'vm', vcpus: 1, memoryMiB: 128 }), amount });
    await inserts(500);
    results.push(await profileIsolates(inspectorPort + 1, 'core:user:reference', () => inserts(PROFILED_REQUESTS * 2), 'reference Worker: one D1 INSERT, 16 clients'));
  } finally {
    await mf.dispose();
  }
  return results;
}

export function isolatesTable(results: IsolateCpu[], rows = 12): string[] {
  const ids = [...new Set(results.flatMap((r) => Object.keys(r.perRequest)))].filter((id) => id !== 'process');
  const name = (id: string) => (id.startsWith('core:user:') ? `this Worker (${id.slice('core:user:'.length)}), its Durable Objects included` : (ISOLATE_NAMES[id] ?? id));
  const cell = (r: IsolateCpu, id: string) => (r.perRequest[id] === undefined ? '—' : r.perRequest[id]!.toFixed(3));
  const userRow = (r: IsolateCpu) => Object.entries(r.perRequest).find(([id]) => id.startsWith('core:user:'))?.[1] ?? 0;
  const rest = (r: IsolateCpu) => r.perRequest.process! - Object.entries(r.perRequest).filter(([id]) => id !== 'process').reduce((s, [, v]) => s + v, 0);
  const [api_, reference] = results;
  return [
    '## Where the CPU goes, isolate by isolate (Miniflare)',
    '',
    `V8 CPU profiles of every isolate of the workerd process at once, through its inspector (bench/isolates.ts), under 16 clients; CPU ms a request, idle samples excluded. workerd runs all of them on one JS thread, so under load the process's CPU a request bounds req/s.`,
    '',
    `| isolate | ${results.map((r) => `${r.title} (${r.rps.toFixed(0)} req/s)`).join(' | ')} |`,
    `|---|${results.map(() => '---').join('|')}|`,
    `| this Worker's own isolate (its Durable Objects included) | ${results.map((r) => userRow(r).toFixed(3)).join(' | ')} |`,
    ...ids.filter((id) => !id.startsWith('core:user:')).map((id) => `| ${name(id)} | ${results.map((r) => cell(r, id)).join(' | ')} |`),
    `| the rest of workerd: HTTP, SQLite's own I/O, the kernel on its behalf | ${results.map((r) => rest(r).toFixed(3)).join(' | ')} |`,
    `| **workerd as a whole (/proc)** | ${results.map((r) => `**${r.perRequest.process!.toFixed(3)}**`).join(' | ')} |`,
    '',
    ...(api_ && reference ? [`The audited create costs ${(api_.perRequest.process! / reference.perRequest.process!).toFixed(2)}× the one INSERT's CPU; ${(reference.rps / api_.rps).toFixed(2)}× its time per request. This Worker's own isolate, the largest ${rows} by self time (of its on-CPU samples):`, '', '| function (bundle line) | share |', '|---|---|', ...api_.top.slice(0, rows).map(([f, share]) => `| \`${f}\` | ${(share * 100).toFixed(1)}% |`)] : []),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(isolatesTable(await measureIsolates()).join('\n'));
  process.exit(0);
}
