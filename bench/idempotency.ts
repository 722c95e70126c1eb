/**
 * `npm run bench:idempotency`: what an `Idempotency-Key` costs an audited VM
 * create — the SDK (and so the CLI) sends one on every POST — against the same
 * create without one, on one Miniflare instance, in alternating rounds:
 * workerd CPU ms a create and the median latency. Issue 34 found the key's
 * claim, a D1 batch of its own before the handler, doubling both; the key is
 * now taken in the request's audit batch (src/platform/middleware/idempotency).
 *   IDEMPOTENCY_ROUNDS (5), IDEMPOTENCY_CLIENTS (16), BENCH_REQUESTS a round (1500).
 */
import { launchWorker } from '../src/testing/runtime';
import { load, vmCreates } from './load';
import { unlimitedBundle } from './runtimes';
import { enrolInstanceAdmin, instanceSecrets, median, mintTokens, roomForCreates, workerdCpuMs } from './workers';

const ROUNDS = Number(process.env.IDEMPOTENCY_ROUNDS ?? 5);
const CLIENTS = Number(process.env.IDEMPOTENCY_CLIENTS ?? 16);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1500);

const { admin, vars } = await instanceSecrets();
const { mf, url } = await launchWorker({ workerDir: await unlimitedBundle(), bindings: vars });
try {
  const base = url.origin;
  await enrolInstanceAdmin(base, vars);
  const tenants = await roomForCreates(base, admin, { hosts: 4, tenants: 2 * ROUNDS, name: 'idem' });

  /** `REQUESTS` creates into `tenant`, each with a fresh token and, when `keyed`, a fresh Idempotency-Key. */
  async function creates(tenant: string, keyed: boolean): Promise<{ cpuMs: number; p50: number }> {
    const tokens = await mintTokens(admin, REQUESTS + 100);
    const before = workerdCpuMs();
    const figures = await load('idempotency', CLIENTS, {
      url: base,
      amount: REQUESTS,
      requests: vmCreates(tokens, tenant, {
        prefix: 'idem',
        headers: (): Record<string, string> => (keyed ? { 'idempotency-key': crypto.randomUUID() } : {}),
      }),
    });
    if (figures.unexpected > 0) throw new Error(`${figures.unexpected} creates failed`);
    return { cpuMs: (workerdCpuMs() - before) / figures.requests, p50: figures.p50 };
  }

  const runs = { plain: [] as { cpuMs: number; p50: number }[], keyed: [] as { cpuMs: number; p50: number }[] };
  let next = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating order: neither kind always runs first.
    for (const keyed of round % 2 ? [true, false] : [false, true]) runs[keyed ? 'keyed' : 'plain'].push(await creates(tenants[next++]!, keyed));
  }
  const row = (title: string, xs: { cpuMs: number; p50: number }[]) =>
    `| ${title} | ${median(xs.map((x) => x.cpuMs)).toFixed(2)} | ${xs.map((x) => x.cpuMs.toFixed(2)).join(' ')} | ${median(xs.map((x) => x.p50))} |`;
  console.log(`Audited VM creates, ${CLIENTS} clients, ${ROUNDS} alternating rounds of ${REQUESTS} each kind, one instance.\n`);
  console.log('| create | workerd CPU ms (median) | each round | p50 ms |');
  console.log('|---|---|---|---|');
  console.log(row('without an Idempotency-Key', runs.plain));
  console.log(row('with one (as the SDK sends)', runs.keyed));
  console.log(`\nThe key costs ×${(median(runs.keyed.map((x) => x.cpuMs)) / median(runs.plain.map((x) => x.cpuMs))).toFixed(2)} CPU.`);
} finally {
  await mf.dispose();
}
