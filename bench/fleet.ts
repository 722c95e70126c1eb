/**
 * VM create against the size of the fleet (issue 16): placement and quota
 * checks read a host's and a tenant's allocation counters (provider/placement,
 * kept by triggers on `vms`), where they used to SUM() their VMs. Two D1s, one with 100 VMs already placed on the host and
 * tenant the creates use and one with 10,000, each measured the same way:
 * sequential creates (latency, mean) and 16 clients (req/s). The VMs are
 * written straight into D1 with the Worker stopped (creating 10,000 through
 * the API would take minutes and measure nothing more); the creates measured
 * go through the API. Both Workers run side by side and are measured in
 * alternating rounds, so a machine whose speed drifts affects both alike.
 */
import { resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import autocannon from 'autocannon';
import { closedLoopRate } from './load';
import { api, d1File, DIR, instanceSecrets, median, mintTokens, newPrincipal, publicOf, startWorker, stopWorker, unlimitedConfig } from './workers';

export const FLEET_SIZES = [100, 10_000];
const SEQUENTIAL = 100;
const LOADED = 1000;
const ROUNDS = 3;

interface FleetFigures {
  placed: number;
  meanMs: number;
  rps: number;
  p50: number;
}

interface Fleet {
  placed: number;
  url: string;
  tenant: string;
  admin: Awaited<ReturnType<typeof newPrincipal>>;
  stop: () => Promise<void>;
}

/** A Worker of its own whose host and tenant already hold `placed` VMs. */
async function seededFleet(placed: number, port: number): Promise<Fleet> {
  const name = `fleet-${placed}`;
  const { admin, vars } = await instanceSecrets();
  const config = unlimitedConfig();
  let worker = await startWorker(name, port, vars, config);
  let tenant: string;
  let host: string;
  try {
    const setup = await mintTokens(admin, 10);
    host = (await api(worker.url, setup, 'POST', '/v1/admin/hosts', { name: 'fleet-host', vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 })).id;
    const owner = await newPrincipal('pending');
    tenant = (
      await api(worker.url, setup, 'POST', '/v1/admin/tenants', {
        name: 'fleet',
        ownerKey: publicOf(owner.jwk),
        quota: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 },
      })
    ).id;
  } finally {
    await stopWorker(worker.child);
  }
  const db = new DatabaseSync(d1File(resolve(DIR, name)));
  const insert = db.prepare('INSERT INTO vms (id, tenant_id, host_id, name, vcpus, memory_mib) VALUES (?, ?, ?, ?, 0, 1)');
  db.exec('BEGIN');
  for (let i = 0; i < placed; i++) insert.run(`vm_FLEET${String(i).padStart(21, '0')}`, tenant, host, `placed-${i}`);
  db.exec('COMMIT');
  db.close();
  worker = await startWorker(name, port, vars, config);
  return { placed, url: worker.url, tenant, admin, stop: () => stopWorker(worker.child) };
}

/** One round on one fleet: `SEQUENTIAL` creates one at a time (mean ms), then `LOADED` at 16 clients. */
async function fleetRound(fleet: Fleet, round: number): Promise<{ meanMs: number; rps: number; p50: number }> {
  const tokens = await mintTokens(fleet.admin, SEQUENTIAL + LOADED + 100);
  const path = `/v1/admin/tenants/${fleet.tenant}/vms`;
  const create = (n: number) => api(fleet.url, tokens, 'POST', path, { name: `r${round}-seq-${n}`, vcpus: 1, memoryMiB: 128 });
  for (let i = 0; i < 10; i++) await create(-1 - i); // warm-up
  const start = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) await create(i);
  const meanMs = (performance.now() - start) / SEQUENTIAL;
  let n = 0;
  const loaded = await new Promise<autocannon.Result>((done, fail) =>
    autocannon(
      {
        url: fleet.url,
        connections: 16,
        amount: LOADED,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => ({
              ...req,
              path,
              headers: { ...req.headers, authorization: `Bearer ${tokens.pop()}`, 'content-type': 'application/json' },
              body: JSON.stringify({ name: `r${round}-load-${n++}`, vcpus: 1, memoryMiB: 128 }),
            }),
          },
        ],
      },
      (error, r) => (error ? fail(error) : done(r)),
    ),
  );
  if (loaded.non2xx + loaded.errors > 0) throw new Error(`fleet ${fleet.placed}: ${loaded.non2xx + loaded.errors} failed creates`);
  return { meanMs, rps: closedLoopRate(16, loaded), p50: loaded.latency.p50 };
}

/** Both fleets side by side, measured in alternating rounds so that a machine drifting in speed affects both alike. */
async function measureFleets(port: number): Promise<FleetFigures[]> {
  const fleets: Fleet[] = [];
  try {
    for (const [i, placed] of FLEET_SIZES.entries()) fleets.push(await seededFleet(placed, port + i));
    const rounds = fleets.map(() => [] as Awaited<ReturnType<typeof fleetRound>>[]);
    for (let round = 0; round < ROUNDS; round++) for (const [i, fleet] of fleets.entries()) rounds[i]!.push(await fleetRound(fleet, round));
    return fleets.map((fleet, i) => ({
      placed: fleet.placed,
      meanMs: median(rounds[i]!.map((r) => r.meanMs)),
      rps: median(rounds[i]!.map((r) => r.rps)),
      p50: median(rounds[i]!.map((r) => r.p50)),
    }));
  } finally {
    await Promise.all(fleets.map((f) => f.stop()));
  }
}

export async function fleetReport(port = 8791): Promise<string[]> {
  const figures = await measureFleets(port);
  const [small, large] = figures as [FleetFigures, FleetFigures];
  return [
    '## VM create against the size of the fleet',
    '',
    `One host and one tenant with N VMs already placed on them (written into D1 with the Worker stopped, each with 0 vCPUs and 1 MiB so that 10,000 fit one host's limits), then VM creates through the API on that host and tenant, both Workers running side by side and measured in ${ROUNDS} alternating rounds (the median round is shown): ${SEQUENTIAL} one at a time (mean latency), then ${LOADED} at 16 clients. Placement and quota guards read the allocation counters that triggers on \`vms\` keep (drizzle/0015), instead of SUM()ming the host's and the tenant's VMs as they did before (then: 1.19× sequential, 1.80× at 16 clients, in this bench).`,
    '',
    '| VMs placed | create latency, mean ms (1 client) | req/s (16 clients) | p50 ms (16 clients) |',
    '|---|---|---|---|',
    ...figures.map((f) => `| ${f.placed.toLocaleString('en')} | ${f.meanMs.toFixed(1)} | ${f.rps.toFixed(0)} | ${f.p50} |`),
    '',
    `Target: create latency with ${large.placed.toLocaleString('en')} VMs ≤ 1.2× with ${small.placed} (${(large.meanMs / small.meanMs).toFixed(2)}×; at 16 clients ${(small.rps / large.rps).toFixed(2)}× the time per request).`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdirSync, rmSync } = await import('node:fs');
  for (const placed of FLEET_SIZES) rmSync(resolve(DIR, `fleet-${placed}`), { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  console.log((await fleetReport()).join('\n'));
}
