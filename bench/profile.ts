/**
 * Where the Worker's CPU goes under load (issue 16): a V8 CPU profile of the
 * Custodes isolate (the Worker and its Durable Objects run in one) taken
 * through `wrangler dev`'s inspector while 16 clients create VMs, each with
 * a fresh token. The Server-Timing breakdown (bench/breakdown.ts) tells where
 * one request's *time* goes, waits included; under load, throughput is bound
 * by CPU, and this says whose. Self time per function, as a share of the
 * samples: `(idle)` is the isolate waiting on D1, the proxy or the client.
 *
 * The inspector proxy of wrangler dev accepts DevTools origins only, hence
 * the Origin header (Node 22's WebSocket takes headers; no client library).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { load, signedRequests, type Figures } from './load';
import { api, DIR, instanceSecrets, mintTokens, newPrincipal, publicOf, startWorker, stopWorker, unlimitedConfig } from './workers';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

export interface ProfileFigures {
  load: Figures;
  samples: number;
  /** [function, share of samples] by self time, largest first. */
  self: [string, number][];
}

const PROFILED_REQUESTS = 2000;
const SAMPLING_MICROSECONDS = 200;

/** A DevTools protocol session over `url`: `send` resolves with the command's result. */
async function inspector(url: string) {
  const ws = new WebSocket(url, { headers: { Origin: 'https://devtools.devprod.cloudflare.dev' } } as never);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
    pending.delete(message.id ?? -1);
  });
  return {
    send: <T>(method: string, params: object = {}) =>
      new Promise<T>((resolve) => {
        const id = ++next;
        pending.set(id, resolve as (result: unknown) => void);
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

export async function measureProfile(port = 8789, inspectorPort = 9339): Promise<ProfileFigures> {
  rmSync(`${DIR}/profile`, { recursive: true, force: true }); // a fresh D1: its audit key is this run's
  mkdirSync(DIR, { recursive: true });
  const { admin, vars } = await instanceSecrets();
  const worker = await startWorker('profile', port, vars, unlimitedConfig(), ['--inspector-port', String(inspectorPort)]);
  try {
    const setup = await mintTokens(admin, 20);
    for (let i = 0; i < 2; i++) await api(worker.url, setup, 'POST', '/v1/admin/hosts', { name: `h${i}`, vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 });
    const owner = await newPrincipal('pending');
    const tenant = await api(worker.url, setup, 'POST', '/v1/admin/tenants', { name: 't', ownerKey: publicOf(owner.jwk), quota: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 } });
    const creates = async (title: string, amount: number, offset: number) =>
      load(title, 16, { url: worker.url, amount, requests: signedRequests(await mintTokens(admin, amount + 50), 'POST', () => `/v1/admin/tenants/${tenant.id}/vms`, (n) => ({ name: `vm-${n + offset}`, vcpus: 1, memoryMiB: 128 })) });
    await creates('warm-up', 300, 0);
    const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
    const session = await inspector(target!.webSocketDebuggerUrl);
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: SAMPLING_MICROSECONDS });
    await session.send('Profiler.start');
    const figures = await creates('audited VM create, profiled', PROFILED_REQUESTS, 10_000);
    const { profile } = await session.send<{ profile: CpuProfile }>('Profiler.stop');
    session.close();
    writeFileSync(`${DIR}/vm-create.cpuprofile`, JSON.stringify(profile)); // opens in Chrome DevTools
    return { load: figures, samples: profile.samples.length, self: selfTimes(profile) };
  } finally {
    await stopWorker(worker.child);
  }
}

export function profileTable(p: ProfileFigures, rows = 20): string[] {
  const shown = p.self.slice(0, rows);
  const rest = 1 - shown.reduce((sum, [, share]) => sum + share, 0);
  return [
    `A CPU profile of the Custodes isolate (Worker and Durable Objects) while 16 clients made ${p.load.requests} audited VM creates (${p.load.rps.toFixed(0)} req/s while profiled; ${p.samples} samples every ${SAMPLING_MICROSECONDS} µs; bench/profile.ts, the profile itself in \`${DIR}/vm-create.cpuprofile\`). Self time per function of the bundle, the largest ${rows}:`,
    '',
    '| function (bundle line) | share of samples |',
    '|---|---|',
    ...shown.map(([name, share]) => `| \`${name}\` | ${(100 * share).toFixed(1)}% |`),
    `| everything else (${p.self.length - shown.length} functions) | ${(100 * rest).toFixed(1)}% |`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(profileTable(await measureProfile()).join('\n'));
}
