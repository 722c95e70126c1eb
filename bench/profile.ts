/**
 * Where the Worker's CPU goes under load (issue 16): a V8 CPU profile of the
 * Custodes isolate (the Worker and its Durable Objects run in one) taken
 * through `wrangler dev`'s inspector while 16 clients create VMs, each with
 * a fresh token, and while the SDK writes guest memory in 64-page batches;
 * beside each, the CPU the whole workerd process spent (/proc), which says
 * how much of the runtime's one JS thread this isolate holds at all. The Server-Timing breakdown (bench/breakdown.ts) tells where
 * one request's *time* goes, waits included; under load, throughput is bound
 * by CPU, and this says whose. Self time per function, as a share of the
 * samples: `(idle)` is the isolate waiting on D1, the proxy or the client.
 *
 * The inspector proxy of wrangler dev accepts DevTools origins only, hence
 * the Origin header (Node 22's WebSocket takes headers; no client library).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createApiClient } from '../src/sdk/client';
import { PAGE_BYTES } from '../src/sdk/envelope';
import { BATCH_PAGES, GuestContents, IN_FLIGHT } from '../src/sdk/guest-contents';
import { newKeystore } from '../src/sdk/keystore';
import { CONTENT_MIB } from './contents';
import { load, vmCreates } from './load';
import { api, DIR, instanceSecrets, mintTokens, newPrincipal, publicOf, startWorker, stopWorker, unlimitedConfig, workerdCpuMs } from './workers';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas?: number[];
}

/** One profiled workload: how many requests it made, at what rate, and where the CPU went. */
export interface ProfileFigures {
  title: string;
  requests: number;
  rps: number;
  samples: number;
  /** ms of wall clock the profile covers. */
  wallMs: number;
  /** ms of CPU the whole workerd process spent meanwhile (every isolate: this Worker, D1's and the rate limiter's objects, and the HTTP layer). */
  workerdCpuMs: number;
  /** [function, share of samples] by self time, largest first. */
  self: [string, number][];
}

const PROFILED_REQUESTS = 2000;
const SAMPLING_MICROSECONDS = 200;
const PAGE_WRITE_ROUNDS = 3;

/** A Chrome DevTools Protocol session over WebSocket. wrangler dev's proxy wants a DevTools Origin; workerd's own inspector takes any. */
export async function inspector(url: string, headers: Record<string, string> = { Origin: 'https://devtools.devprod.cloudflare.dev' }) {
  const ws = new WebSocket(url, { headers } as never);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  let next = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void; method: string }>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiting = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id!);
    if (message.error) waiting.reject(new Error(`${waiting.method}: ${message.error.message}`));
    else waiting.resolve(message.result);
  });
  ws.addEventListener('close', () => {
    for (const { reject, method } of pending.values()) reject(new Error(`${method}: the inspector closed the connection`));
  });
  return {
    send: <T>(method: string, params: object = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve: resolve as (result: unknown) => void, reject, method });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Self time by function name (and line, since bundled names repeat), as shares of all samples. */
export function selfTimes(profile: CpuProfile): [string, number][] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byName = new Map<string, number>();
  for (const sample of profile.samples) {
    const frame = nodes.get(sample)!.callFrame;
    const name = `${frame.functionName || '(anonymous)'}${frame.lineNumber >= 0 ? ` :${frame.lineNumber}` : ''}${frame.url.startsWith('cloudflare-internal') || frame.url.startsWith('node-internal') ? ` [${frame.url.split(':')[1]}]` : ''}`;
    byName.set(name, (byName.get(name) ?? 0) + 1);
  }
  return [...byName].map(([name, n]) => [name, n / profile.samples.length] as [string, number]).sort((a, b) => b[1] - a[1]);
}

/**
 * Profiles two workloads on one Worker: 16 clients creating VMs, then one
 * client writing 8 MiB of guest memory in 64-page batches, 4 in flight,
 * through the SDK (the bench's memory path).
 */
/** workerd's CPU per request of the reference Worker's routes at 16 clients (bench/reference-worker.js): what the runtime itself spends on the floors. */
export interface ReferenceCpu {
  title: string;
  rps: number;
  workerdCpuMsPerRequest: number;
}

async function measureReferenceCpu(port: number): Promise<ReferenceCpu[]> {
  rmSync(`${DIR}/profile-reference`, { recursive: true, force: true });
  const reference = await startWorker('profile-reference', port, {}, 'bench/wrangler.reference.toml');
  try {
    await fetch(`${reference.url}/seed`, { method: 'POST' });
    const body = JSON.stringify({ name: 'vm', vcpus: 1, memoryMiB: 128 });
    await load('warm-up', 16, { url: `${reference.url}/design-floor-limited`, method: 'POST', body, amount: 300 });
    const out: ReferenceCpu[] = [];
    for (const [title, route] of [
      ['trivial Worker doing one D1 INSERT', '/insert'],
      ['design floor (group-committed batch, Ed25519 verify, signatures)', '/design-floor'],
      ['design floor + the rate limiter as the API calls it (once per 40 requests)', '/design-floor-limited'],
    ] as const) {
      const before = workerdCpuMs(reference.child.pid!);
      const f = await load(title, 16, { url: `${reference.url}${route}`, method: 'POST', body, amount: PROFILED_REQUESTS });
      out.push({ title, rps: f.rps, workerdCpuMsPerRequest: (workerdCpuMs(reference.child.pid!) - before) / f.requests });
    }
    return out;
  } finally {
    await stopWorker(reference.child);
  }
}

export async function measureProfile(port = 8789, inspectorPort = 9339): Promise<{ profiles: ProfileFigures[]; reference: ReferenceCpu[] }> {
  rmSync(`${DIR}/profile`, { recursive: true, force: true }); // a fresh D1: its audit key is this run's
  mkdirSync(DIR, { recursive: true });
  const { admin, vars } = await instanceSecrets();
  const worker = await startWorker('profile', port, vars, unlimitedConfig(), ['--inspector-port', String(inspectorPort)]);
  try {
    const setup = await mintTokens(admin, 20);
    for (let i = 0; i < 2; i++)
      await api(worker.url, setup, 'POST', '/v1/admin/hosts', { name: `h${i}`, vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 });
    const owner = await newPrincipal('pending');
    const tenant = await api(worker.url, setup, 'POST', '/v1/admin/tenants', {
      name: 't',
      ownerKey: publicOf(owner.jwk),
      quota: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 },
    });
    const creates = async (title: string, amount: number, offset: number) =>
      load(title, 16, {
        url: worker.url,
        amount,
        requests: vmCreates(await mintTokens(admin, amount + 50), tenant.id, { offset }),
      });
    const vm = await api(worker.url, setup, 'POST', `/v1/admin/tenants/${tenant.id}/vms`, {
      name: 'profiled-guest',
      vcpus: 1,
      memoryMiB: Math.max(128, 4 * CONTENT_MIB),
    });
    const contents = new GuestContents(createApiClient({ baseUrl: worker.url, key: owner.jwk, principal: tenant.id }), await newKeystore());
    const memory = { tenant: tenant.id, space: 'memory' as const, resource: vm.id };
    const bytes = new Uint8Array(CONTENT_MIB * 2 ** 20).fill(0x5a);
    const pageWrites = async () => {
      const start = performance.now();
      for (let i = 0; i < PAGE_WRITE_ROUNDS; i++) await contents.write(memory, 0, bytes);
      const batches = (PAGE_WRITE_ROUNDS * bytes.length) / PAGE_BYTES / BATCH_PAGES;
      return { requests: batches, rps: (batches * 1000) / (performance.now() - start) };
    };
    await creates('warm-up', 300, 0);
    await contents.write(memory, 0, bytes);

    const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
    const session = await inspector(target!.webSocketDebuggerUrl);
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: SAMPLING_MICROSECONDS });
    const profiled = async (title: string, file: string, run: () => Promise<{ requests: number; rps: number }>): Promise<ProfileFigures> => {
      const cpuBefore = workerdCpuMs(worker.child.pid!);
      const wallStart = performance.now();
      await session.send('Profiler.start');
      const { requests, rps } = await run();
      const { profile } = await session.send<{ profile: CpuProfile }>('Profiler.stop');
      const wallMs = performance.now() - wallStart;
      writeFileSync(`${DIR}/${file}`, JSON.stringify(profile)); // opens in Chrome DevTools
      return {
        title,
        requests,
        rps,
        samples: profile.samples.length,
        wallMs,
        workerdCpuMs: workerdCpuMs(worker.child.pid!) - cpuBefore,
        self: selfTimes(profile),
      };
    };
    const figures = [
      await profiled('audited VM creates, 16 clients', 'vm-create.cpuprofile', async () => {
        const f = await creates('audited VM create, profiled', PROFILED_REQUESTS, 10_000);
        return { requests: f.requests, rps: f.rps };
      }),
      await profiled(`64-page memory writes through the SDK, ${IN_FLIGHT} in flight`, 'page-write.cpuprofile', pageWrites),
    ];
    session.close();
    await stopWorker(worker.child);
    return { profiles: figures, reference: await measureReferenceCpu(port) };
  } finally {
    await stopWorker(worker.child);
  }
}

export function profileTable({ profiles, reference }: { profiles: ProfileFigures[]; reference: ReferenceCpu[] }, rows = 15): string[] {
  // Samples of `(idle)` are the isolate waiting, not computing.
  const isolateMs = (p: ProfileFigures) => ((p.samples * SAMPLING_MICROSECONDS) / 1000) * (1 - (p.self.find(([name]) => name === '(idle)')?.[1] ?? 0));
  const table = (p: ProfileFigures) => {
    const shown = p.self.slice(0, rows);
    const rest = 1 - shown.reduce((sum, [, share]) => sum + share, 0);
    return [
      `**${p.title}**: ${p.requests} requests at ${p.rps.toFixed(0)} req/s while profiled. This Worker's isolate was on CPU ≈${isolateMs(p).toFixed(0)} ms (${p.samples} samples every ${SAMPLING_MICROSECONDS} µs, ${(isolateMs(p) / p.requests).toFixed(1)} ms a request); the whole workerd process ${p.workerdCpuMs.toFixed(0)} ms (${(p.workerdCpuMs / p.requests).toFixed(1)} ms a request) in ${p.wallMs.toFixed(0)} ms of wall clock. The largest ${rows} by self time:`,
      '',
      '| function (bundle line) | share of samples |',
      '|---|---|',
      ...shown.map(([name, share]) => `| \`${name}\` | ${(100 * share).toFixed(1)}% |`),
      `| everything else (${p.self.length - shown.length} functions) | ${(100 * rest).toFixed(1)}% |`,
    ];
  };
  return [
    '## Where the CPU goes under load',
    '',
    `V8 CPU profiles of the Custodes isolate (the Worker and its Durable Objects run in one) through \`wrangler dev\`'s inspector (bench/profile.ts; the profiles themselves in \`${DIR}/*.cpuprofile\`, which open in DevTools), with the CPU the workerd process spent meanwhile (/proc): what workerd spends beyond this isolate is D1's and the rate limiter's emulation (their own objects and SQLite) and the HTTP layer, all on workerd's one JS thread.`,
    '',
    ...profiles.flatMap((p) => [...table(p), '']),
    "workerd's CPU per request, the same way, for the reference Worker's routes at 16 clients and for the API's audited create above:",
    '',
    '| route | req/s | workerd CPU ms a request |',
    '|---|---|---|',
    ...reference.map((r) => `| ${r.title} | ${r.rps.toFixed(0)} | ${r.workerdCpuMsPerRequest.toFixed(2)} |`),
    ...profiles.slice(0, 1).map((p) => `| the API's ${p.title} (profiler attached) | ${p.rps.toFixed(0)} | ${(p.workerdCpuMs / p.requests).toFixed(2)} |`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(profileTable(await measureProfile()).join('\n'));
}
