/**
 * What idle live subscribers cost the server's memory (issue 29): subscribers
 * that connect and never read, then many records on the logs they watch.
 * Before the stream had a budget, 300 of them and ~2,600 records took workerd
 * from 131 to 2,686 MiB and killed it. Measured here: workerd's resident
 * memory (every workerd process under this one, from /proc) before, after the
 * subscribers connect, after the records, after they all disconnect, and
 * after a second round of the same — against a reference instance that takes
 * the same records with no subscribers, in the same run. The bound the budget
 * sets is `perIsolate × queueBytes` of unread events (plus what each socket's
 * kernel buffers take, which is not workerd's).
 *
 * `npm run bench:stream-memory` (part of `npm run bench`); the test
 * (test/security/stream-memory.node.test.ts) runs it smaller.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { workerdProcesses } from './workers';
import { mintToken } from '../src/sdk/index';
import { startCustodes, type ProvisionedTenant } from '../src/testing/index';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from '../src/audit/stream/fan-out';

export interface MemoryScenario {
  subscribers: number;
  records: number;
  /** Logs the subscribers and records are spread over. */
  tenants: number;
  limits?: Partial<StreamLimits>;
  /** Records made large (a 2,000-character path), to outgrow the sockets' buffers sooner. */
  largeRecords?: boolean;
}

export interface MemoryRun {
  admitted: number;
  refused: number;
  /** workerd RSS in MiB at each step. */
  mib: { start: number; connected: number; loaded: number; closed: number; secondPeak: number };
  /** Subscribers admitted again in the second round (places given back). */
  readmitted: number;
  seconds: number;
}

/** Resident memory of the workerd processes under this process, in MiB. */
export function workerdRssMiB(root = process.pid): number {
  const rssKiB = (pid: number) => {
    try {
      return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      return 0; // gone meanwhile
    }
  };
  return workerdProcesses(root).reduce((sum, { pid }) => sum + rssKiB(pid), 0) / 1024;
}

/** A subscriber that never reads: a raw socket, paused before the answer arrives. Resolves with its status. */
async function idleSubscriber(url: string, tenant: string, token: string): Promise<{ socket: Socket; status: number }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`GET /v1/tenants/${tenant}/audit/stream?from=0 HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  // Read the status line only, then never again.
  const status = await new Promise<number>((resolve) => {
    socket.once('data', (chunk) => {
      socket.pause();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 0));
    });
  });
  return { socket, status };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One instance, one scenario (subscribers 0: the reference). */
export async function measureStreamMemory(scenario: MemoryScenario): Promise<MemoryRun> {
  const started = performance.now();
  const limits = { ...DEFAULT_STREAM_LIMITS, heartbeatMs: 1000, ...scenario.limits };
  const emu = await startCustodes({ bindings: { STREAM_LIMITS: JSON.stringify(limits) } });
  try {
    const tenants: ProvisionedTenant[] = [];
    for (let i = 0; i < scenario.tenants; i++) tenants.push(await emu.provisionTenant({ name: `memory-${i}` }));
    const start = workerdRssMiB();

    const subscribe = async () => {
      const open: { socket: Socket; status: number }[] = [];
      for (let i = 0; i < scenario.subscribers; i++) {
        const t = tenants[i % tenants.length]!;
        const token = await mintToken({ key: t.owner.key, principal: t.owner.id, scope: [], ttlSeconds: 900, clock: emu.clock.now });
        open.push(await idleSubscriber(emu.url, t.tenant, token));
      }
      return open;
    };
    const load = async (records = scenario.records) => {
      const path = (t: ProvisionedTenant) => (scenario.largeRecords ? `/v1/tenants/${t.tenant}/vms/vm_${'A'.repeat(1900)}` : `/v1/tenants/${t.tenant}/vms`);
      for (let n = 0; n < records; n += 16) {
        await Promise.all(
          Array.from({ length: Math.min(16, records - n) }, (_, k) => {
            const t = tenants[(n + k) % tenants.length]!;
            return t.owner.api.GET(path(t) as '/v1/tenants/{tenant}/vms', { params: { path: { tenant: t.tenant } } }).catch(() => undefined);
          }),
        );
      }
    };
    const close = async (open: { socket: Socket }[]) => {
      for (const { socket } of open) socket.destroy();
      // The server notices a reader is gone at its next write: a heartbeat, or a record to each log.
      await settle(limits.heartbeatMs * 3);
      await load(tenants.length * 2);
    };

    const first = await subscribe();
    await settle(500);
    const connected = workerdRssMiB();
    await load();
    await settle(1000);
    const loaded = workerdRssMiB();
    await close(first);
    await settle(1000);
    const closed = workerdRssMiB();

    const second = await subscribe();
    await load();
    await settle(1000);
    const secondPeak = workerdRssMiB();
    for (const { socket } of second) socket.destroy();
    return {
      admitted: first.filter((s) => s.status === 200).length,
      refused: first.filter((s) => s.status === 429).length,
      mib: { start, connected, loaded, closed, secondPeak },
      readmitted: second.filter((s) => s.status === 200).length,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await emu.close();
  }
}

/** The bench's scenario: 1,000 idle subscribers and 10,000 records, against the same records with none. */
export async function streamMemoryReport(): Promise<string[]> {
  const scenario = { subscribers: 1000, records: 10_000, tenants: 125 };
  const reference = await measureStreamMemory({ ...scenario, subscribers: 0 });
  const attacked = await measureStreamMemory(scenario);
  const { perIsolate, queueBytes } = DEFAULT_STREAM_LIMITS;
  const bound = (perIsolate * queueBytes) / 2 ** 20;
  const row = (name: string, run: MemoryRun) =>
    `| ${name} | ${run.admitted} / ${run.refused} | ${run.mib.start.toFixed(0)} | ${run.mib.connected.toFixed(0)} | ${run.mib.loaded.toFixed(0)} | ${run.mib.closed.toFixed(0)} | ${run.readmitted} | ${run.mib.secondPeak.toFixed(0)} | ${(run.mib.loaded - run.mib.start).toFixed(0)} |`;
  const extra = attacked.mib.loaded - attacked.mib.start - (reference.mib.loaded - reference.mib.start);
  return [
    '## Idle live subscribers and memory (issue 29)',
    '',
    `${scenario.subscribers} subscribers that connect and never read (spread over ${scenario.tenants} tenants' logs, each tenant's owner opening ${scenario.subscribers / scenario.tenants}), then ${scenario.records.toLocaleString('en')} records on those logs; then every subscriber disconnects, and a second round of the same. The reference takes the same records with no subscribers, in the same run. workerd's resident memory in MiB (every workerd process of the instance, from /proc).`,
    '',
    '| instance | admitted / refused (429) | start | connected | after records | after disconnect | re-admitted | second-round peak | growth |',
    '|---|---|---|---|---|---|---|---|---|',
    row('reference (no subscribers)', reference),
    row(`${scenario.subscribers} idle subscribers`, attacked),
    '',
    `The budget (per principal ${DEFAULT_STREAM_LIMITS.perPrincipal}, per log ${DEFAULT_STREAM_LIMITS.perLog}, per isolate ${perIsolate}, ${queueBytes / 1024} KiB unread per subscriber) admits ${attacked.admitted} and bounds what they can hold in workerd to ${bound.toFixed(0)} MiB of events, plus each open stream's own cost. Measured: connecting took ${(attacked.mib.connected - attacked.mib.start).toFixed(0)} MiB (the ${scenario.subscribers} requests and ${attacked.admitted} open streams); while the records arrived, workerd grew ${(attacked.mib.loaded - attacked.mib.connected).toFixed(0)} MiB against the reference's ${(reference.mib.loaded - reference.mib.connected).toFixed(0)}; in all, ${extra.toFixed(0)} MiB over the reference. After they disconnect, the second round is re-admitted (${attacked.readmitted}) and peaks at ${attacked.mib.secondPeak.toFixed(0)} MiB against the reference's ${reference.mib.secondPeak.toFixed(0)}: the places and the memory come back (V8 keeps freed heap pages mapped, so resident memory does not fall to where it started). Before the budget, 300 such subscribers and ~2,600 records took workerd past 2,600 MiB and killed it.`,
    '',
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log((await streamMemoryReport()).join('\n'));
  process.exit(0);
}
