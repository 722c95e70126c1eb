/**
 * `npm run bench:shards`: what tenants across D1 databases cost an audited
 * change (issue 35), on bench/shard-worker.ts — 8 tenants on 1 database and
 * on 2, each change tenant-primary (one batch in the tenant's database) and
 * provider-primary (the provider batch with its outbox row, then the notice
 * delivered into the tenant's database, then the outbox row cleared: the hop
 * docs/design.md §5's exception adds). Scenarios alternate round by round;
 * workerd's CPU a change is counted on the Worker's own process tree.
 *
 * This 2-core machine runs every local D1 database in the same workerd: the
 * figures say what the hop costs in CPU, not how shards scale (each remote D1
 * database serves its writes on its own).
 *   SHARD_ROUNDS (3), SHARD_REQUESTS a scenario a round (1500), SHARD_CLIENTS (16).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { load } from './load';
import { DIR, instanceSecrets, median, startWorker, stopWorker, workerdCpuMs } from './workers';

const ROUNDS = Number(process.env.SHARD_ROUNDS ?? 3);
const REQUESTS = Number(process.env.SHARD_REQUESTS ?? 1500);
const CLIENTS = Number(process.env.SHARD_CLIENTS ?? 16);
export const SHARD_TENANTS = 8;

type Scenario = { label: string; route: '/tenant-change' | '/provider-change'; shards: 1 | 2; lazyClear?: boolean };
const SCENARIOS: Scenario[] = [
  { label: 'tenant-primary, 8 tenants on 1 database', route: '/tenant-change', shards: 1 },
  { label: 'tenant-primary, 8 tenants on 2 databases', route: '/tenant-change', shards: 2 },
  { label: 'provider-primary with the notice hop, 8 tenants on 1 database', route: '/provider-change', shards: 1 },
  { label: 'provider-primary with the notice hop, 8 tenants on 2 databases', route: '/provider-change', shards: 2 },
  {
    label: 'the same, the outbox row cleared by a later provider batch (one round trip fewer)',
    route: '/provider-change',
    shards: 2,
    lazyClear: true,
  },
];

interface Measured {
  cpuMs: number[];
  rps: number[];
  unexpected: number;
}

export async function measureShards(port = 8790): Promise<Map<Scenario, Measured>> {
  rmSync(`${DIR}/shards`, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  // The audit signing key only: a copy of the vars, so no admin is enrolled (this Worker has no API).
  const { AUDIT_SIGNING_JWK } = (await instanceSecrets()).vars;
  const worker = await startWorker('shards', port, { AUDIT_SIGNING_JWK: AUDIT_SIGNING_JWK! }, 'bench/wrangler.shards.toml', [], ['DB', 'SHARD_1']);
  try {
    await fetch(`${worker.url}/seed`, { method: 'POST' });
    const figures = new Map(SCENARIOS.map((s) => [s, { cpuMs: [], rps: [], unexpected: 0 } as Measured]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, scenario] of SCENARIOS.entries()) {
        const run = `r${round}s${i}`;
        let n = 0;
        const requests = [
          {
            method: 'POST' as const,
            setupRequest: (req: object) => ({
              ...req,
              body: JSON.stringify({ run, tenant: `t${n++ % SHARD_TENANTS}`, shards: scenario.shards, lazyClear: scenario.lazyClear }),
            }),
          },
        ];
        // A few changes first, so every log's head exists before the measurement.
        await load('warm-up', SHARD_TENANTS, { url: `${worker.url}${scenario.route}`, amount: 4 * SHARD_TENANTS, requests });
        const before = workerdCpuMs(worker.child.pid!);
        const f = await load(scenario.label, CLIENTS, { url: `${worker.url}${scenario.route}`, amount: REQUESTS, requests });
        const m = figures.get(scenario)!;
        m.cpuMs.push((workerdCpuMs(worker.child.pid!) - before) / f.requests);
        m.rps.push(f.rps);
        m.unexpected += f.unexpected;
      }
    }
    return figures;
  } finally {
    await stopWorker(worker.child);
  }
}

export function shardsReport(figures: Map<Scenario, Measured>): string[] {
  const one = [...figures].find(([s]) => s.route === '/tenant-change' && s.shards === 1)![1];
  // Each round's ratio to the same round's tenant-primary change on one database.
  const ratio = (m: Measured) => median(m.cpuMs.map((cpu, round) => cpu / one.cpuMs[round]!));
  return [
    '## Tenants across D1 databases: what the hop costs (issue 35)',
    '',
    `bench/shard-worker.ts: audited changes spread round-robin over ${SHARD_TENANTS} tenants by ${CLIENTS} clients, ${REQUESTS} a scenario a round, ${ROUNDS} rounds, the scenarios alternating within each. Each change is a signed record, its tree node and signed checkpoint and a data row, committed in one D1 batch by its log's sequencer (one Durable Object a log), with the API's own log code. Tenant-primary: one batch in the tenant's database. Provider-primary (docs/design.md §5's exception for an admin's change): the provider log's batch with its outbox row in the provider's database, then the notice, its receipt and the tenant-side row in one batch in the tenant's database, then the outbox row cleared — delivered by the request itself, as src/audit/log/notices.ts does. Medians over the rounds; "÷ tenant-primary, one database" is the median of each round's own ratio. Every local D1 database is served by the same workerd on this 2-core machine, so this is the hop's cost in CPU, not how shards scale.`,
    '',
    '| change | req/s | workerd CPU ms a change | ÷ tenant-primary, one database | non-2xx/errors |',
    '|---|---|---|---|---|',
    ...[...figures].map(([s, m]) => `| ${s.label} | ${median(m.rps).toFixed(0)} | ${median(m.cpuMs).toFixed(2)} | ${ratio(m).toFixed(2)} | ${m.unexpected} |`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(shardsReport(await measureShards()).join('\n'));
}
