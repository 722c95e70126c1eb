/**
 * Where an audited request's time goes (issue 16): one client, one request at
 * a time (so no part waits for another request), against a Worker started
 * with `CUSTODES_SERVER_TIMING=on`; each response's `Server-Timing` names its
 * parts (src/platform/middleware/server-timing). The table is the median of
 * each part over the sample (the runtime's clock ticks in whole ms, so a mean,
 * not a median), for an admin VM create and a 64-page memory read and write.
 */
import { GuestContents } from '../src/sdk/guest-contents';
import { createApiClient } from '../src/sdk/client';
import { newKeystore } from '../src/sdk/keystore';
import { api, DIR, instanceSecrets, mintTokens, newPrincipal, publicOf, startWorker, stopWorker, unlimitedConfig, type Principal } from './workers';
import { PAGES_MEDIA_TYPE } from '../src/lib/page-frames';

export const BREAKDOWN_SAMPLES = 200;

type Spans = Record<string, number>;

export function parseServerTiming(header: string | null): Spans {
  const spans: Spans = {};
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.trim().split(';');
    const dur = params.find((p) => p.startsWith('dur='));
    if (name && dur) spans[name] = Number(dur.slice(4));
  }
  return spans;
}

/** The runtime's clock ticks in whole milliseconds: a mean over many requests resolves what one cannot. */
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);

/** The rows of the table, each a part and how to read it off one response's spans; parts at the top level sum to the total with `other`. */
const PARTS: [string, (s: Spans) => number][] = [
  ['token parse and verify (Ed25519, claims)', (s) => (s.token ?? 0) - (s.key ?? 0)],
  ['key lookup (isolate cache; D1 on a miss)', (s) => s.key ?? 0],
  ['rate limit (binding; one call per 40 requests of a principal)', (s) => s.ratelimit ?? 0],
  ['route and guard reads in D1 (log routing, jti pruning, role re-check)', (s) => (s['d1.pre'] ?? 0) + (s['d1.guards'] ?? 0)],
  ['handler reads in D1', (s) => s['d1.handler'] ?? 0],
  ['Worker → sequencer call, as a whole', (s) => s.sequencer ?? 0],
  ['… waiting for the group ahead', (s) => s['seq.queue'] ?? 0],
  ["… record signing (the group's)", (s) => s['seq.sign'] ?? 0],
  ['… checkpoint signing', (s) => s['seq.checkpoint'] ?? 0],
  ['… the D1 batch (writes, record, nodes, head)', (s) => s['seq.batch'] ?? 0],
  [
    '… the call itself (RPC, serialisation, DO scheduling)',
    (s) => (s.sequencer ?? 0) - (s['seq.queue'] ?? 0) - (s['seq.sign'] ?? 0) - (s['seq.checkpoint'] ?? 0) - (s['seq.batch'] ?? 0),
  ],
  ['D1 after the handler (recording a read)', (s) => s['d1.record'] ?? 0],
  [
    'other: routing, validation, JSON, response',
    (s) =>
      (s.total ?? 0) -
      (s.token ?? 0) -
      (s.ratelimit ?? 0) -
      (s['d1.pre'] ?? 0) -
      (s['d1.guards'] ?? 0) -
      (s['d1.handler'] ?? 0) -
      (s.sequencer ?? 0) -
      (s['d1.record'] ?? 0),
  ],
  ['total (server side)', (s) => s.total ?? 0],
];

async function sample(n: number, request: () => Promise<Response>): Promise<Spans[]> {
  const out: Spans[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request();
    if (!res.ok) throw new Error(`breakdown request: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    out.push(parseServerTiming(res.headers.get('Server-Timing')));
  }
  return out;
}

export interface Breakdown {
  vmCreate: Spans[];
  memoryRead: Spans[];
  memoryWrite: Spans[];
  clientMs: { vmCreate: number; memoryRead: number; memoryWrite: number };
}

/** Samples both requests on `url` (a Worker with Server-Timing on), after a short warm-up. */
export async function measureBreakdown(url: string, admin: Principal, tenant: { id: string; owner: Principal }): Promise<Breakdown> {
  const setup = await mintTokens(admin, 10);
  const vm = await api(url, setup, 'POST', `/v1/admin/tenants/${tenant.id}/vms`, { name: 'breakdown-guest', vcpus: 1, memoryMiB: 128 });
  // The SDK seals one 64-page batch; its body (a binary frame, as the SDK sends it) is kept and sent again as the sampled write
  // (each a new version of the same pages).
  let writeBody = new ArrayBuffer(0);
  const keep: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.method === 'PUT') writeBody = await request.clone().arrayBuffer();
    return fetch(request);
  };
  const contents = new GuestContents(createApiClient({ baseUrl: url, key: tenant.owner.jwk, principal: tenant.owner.id, fetch: keep }), await newKeystore());
  await contents.write({ tenant: tenant.id, space: 'memory', resource: vm.id }, 0, new Uint8Array(64 * 4096).fill(0x5a));

  const adminTokens = await mintTokens(admin, 2 * BREAKDOWN_SAMPLES + 20);
  const ownerTokens = await mintTokens(tenant.owner, 4 * BREAKDOWN_SAMPLES + 40);
  let n = 0;
  const create = () =>
    fetch(`${url}/v1/admin/tenants/${tenant.id}/vms`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminTokens.pop()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `breakdown-${n++}`, vcpus: 1, memoryMiB: 128 }),
    });
  const read = () =>
    fetch(`${url}/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages?start=0&count=64`, {
      headers: { Authorization: `Bearer ${ownerTokens.pop()}`, Accept: PAGES_MEDIA_TYPE, 'Accept-Encoding': 'identity' },
    });
  const write = () =>
    fetch(`${url}/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${ownerTokens.pop()}`, 'Content-Type': PAGES_MEDIA_TYPE, 'Accept-Encoding': 'identity' },
      body: writeBody,
    });
  await sample(20, create);
  await sample(20, read);
  await sample(20, write);
  let start = performance.now();
  const vmCreate = await sample(BREAKDOWN_SAMPLES, create);
  const createMs = (performance.now() - start) / BREAKDOWN_SAMPLES;
  start = performance.now();
  const memoryRead = await sample(BREAKDOWN_SAMPLES, read);
  const readMs = (performance.now() - start) / BREAKDOWN_SAMPLES;
  start = performance.now();
  const memoryWrite = await sample(BREAKDOWN_SAMPLES, write);
  const writeMs = (performance.now() - start) / BREAKDOWN_SAMPLES;
  return { vmCreate, memoryRead, memoryWrite, clientMs: { vmCreate: createMs, memoryRead: readMs, memoryWrite: writeMs } };
}

export function breakdownTable(b: Breakdown): string[] {
  const cell = (samples: Spans[], part: (s: Spans) => number) => mean(samples.map(part)).toFixed(2);
  return [
    '| part | VM create, ms | 64-page memory read, ms | 64-page memory write, ms |',
    '|---|---|---|---|',
    ...PARTS.map(([name, part]) => `| ${name} | ${cell(b.vmCreate, part)} | ${cell(b.memoryRead, part)} | ${cell(b.memoryWrite, part)} |`),
    `| as the client saw it (mean, incl. HTTP) | ${b.clientMs.vmCreate.toFixed(2)} | ${b.clientMs.memoryRead.toFixed(2)} | ${b.clientMs.memoryWrite.toFixed(2)} |`,
  ];
}

/** Starts its own Worker with Server-Timing on (port `port`), provisions a host and a tenant, and measures. */
export async function breakdownReport(port = 8794): Promise<{ lines: string[]; breakdown: Breakdown }> {
  const { admin, vars } = await instanceSecrets({ CUSTODES_SERVER_TIMING: 'on' });
  const worker = await startWorker('breakdown', port, vars, unlimitedConfig());
  try {
    const setup = await mintTokens(admin, 10);
    await api(worker.url, setup, 'POST', '/v1/admin/hosts', { name: 'breakdown-host', vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 });
    const owner = await newPrincipal('pending');
    const t = await api(worker.url, setup, 'POST', '/v1/admin/tenants', {
      name: 'breakdown',
      ownerKey: publicOf(owner.jwk),
      quota: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 },
    });
    const breakdown = await measureBreakdown(worker.url, admin, { id: t.id, owner: { ...owner, id: t.id } });
    return {
      breakdown,
      lines: [
        "## Where an audited request's time goes",
        '',
        `One client, one request at a time, ${BREAKDOWN_SAMPLES} of each after a warm-up, on a Worker started with \`CUSTODES_SERVER_TIMING=on\`: each response's \`Server-Timing\` names its parts (src/platform/middleware/server-timing). The local runtime's clock ticks in whole milliseconds, so each figure is the mean over the sample. Lines starting with … are inside the sequencer call; the top-level parts and \`other\` add up to the total. The last line is the client's view: the difference is the local proxy in front of workerd (wrangler dev), paid by every Worker alike.`,
        '',
        ...breakdownTable(breakdown),
      ],
    };
  } finally {
    await stopWorker(worker.child);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdirSync, rmSync } = await import('node:fs');
  const { resolve } = await import('node:path');
  rmSync(resolve(DIR, 'breakdown'), { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  console.log((await breakdownReport()).lines.join('\n'));
}
