/**
 * `npm run bench:ab -- <worker dir> <worker dir> [...]`: audited VM creates on
 * two (or more) builds of the Worker side by side, in alternating rounds, with
 * the design floor (bench/reference-worker.js) measured between them; prints
 * each build's workerd CPU a create, its median ÷ the design floor's, and each
 * round's ratio.
 *
 * Why: this machine's pace moves by ±20% within minutes, so a change worth 5%
 * is invisible across two runs of `bench:runtimes`; measured in the same
 * minutes, round by round, it shows. Issue 34 found its create cuts (and the
 * costs that turned out not to matter: the number of statements in a batch, the
 * size of the sequencer's answer) this way. A build is a directory made by
 * `buildWorker(dir)` (scripts/build-worker.ts), e.g. one with a part taken out
 * to size it:
 *   npx tsx -e "import('./scripts/build-worker.ts').then((m) => m.buildWorker('/tmp/without-x'))"
 * Each build gets its own workerd, its own D1 and its own CPU count (/proc).
 *   AB_ROUNDS (6), AB_REQUESTS a round (2000), AB_CLIENTS (64).
 */
import { basename } from 'node:path';
import { launchWorker } from '../src/testing/runtime';
import { load, vmCreates } from './load';
import { referenceOnMiniflare, unlimitedCopy } from './runtimes';
import { cpuMsOf, enrolInstanceAdmin, instanceSecrets, median, mintTokens, type Principal, roomForCreates, workerdProcesses } from './workers';

const ROUNDS = Number(process.env.AB_ROUNDS ?? 6);
const REQUESTS = Number(process.env.AB_REQUESTS ?? 2000);
const CLIENTS = Number(process.env.AB_CLIENTS ?? 64);

interface Build {
  label: string;
  url: string;
  admin: Principal;
  tenants: string[];
  /** Its workerd's pid: each build's CPU is counted alone. */
  pid: number;
  cpuMs: number[];
  dispose: () => Promise<void>;
}

/** What `launch` started, with the pid of the workerd it started. */
async function withOwnWorkerd<T>(launch: () => Promise<T>): Promise<T & { pid: number }> {
  const before = new Set(workerdProcesses().map((p) => p.pid));
  const launched = await launch();
  const pid = workerdProcesses().find((p) => !before.has(p.pid))?.pid;
  if (!pid) throw new Error('no workerd of its own');
  return { ...launched, pid };
}

/** One build, its rate limits out of reach, with hosts and a tenant a round to create VMs in. */
async function start(dir: string, index: number): Promise<Build> {
  const copy = unlimitedCopy(dir, `ab-${index}`);
  const { admin, vars } = await instanceSecrets();
  const { mf, url, pid } = await withOwnWorkerd(() => launchWorker({ workerDir: copy, bindings: vars }));
  await enrolInstanceAdmin(url.origin, vars);
  const tenants = await roomForCreates(url.origin, admin, { hosts: 4, tenants: ROUNDS + 1, name: 'ab' });
  return { label: basename(dir), url: url.origin, admin, tenants, pid, cpuMs: [], dispose: () => mf.dispose() };
}

/** `requests` audited creates into `tenant`; workerd CPU ms a create, counted on `pid` alone. */
async function creates(build: Build, tenant: string, requests: number): Promise<number> {
  const tokens = await mintTokens(build.admin, requests + 100);
  const before = cpuMsOf(build.pid);
  const figures = await load('ab', CLIENTS, {
    url: build.url,
    amount: requests,
    requests: vmCreates(tokens, tenant, { prefix: 'ab' }),
  });
  if (figures.unexpected > 0) throw new Error(`${build.label}: ${figures.unexpected} creates failed`);
  return (cpuMsOf(build.pid) - before) / figures.requests;
}

const dirs = process.argv.slice(2);
if (dirs.length < 2) {
  console.error('usage: npm run bench:ab -- <worker dir> <worker dir> [...]  (each made by buildWorker(dir), scripts/build-worker.ts)');
  process.exit(2);
}
const reference = await withOwnWorkerd(referenceOnMiniflare);
const referencePid = reference.pid;
const builds: Build[] = [];
try {
  for (const [i, dir] of dirs.entries()) builds.push(await start(dir, i));
  for (const build of builds) await creates(build, build.tenants[0]!, 300); // warm-up
  const body = JSON.stringify({ name: 'vm', vcpus: 1, memoryMiB: 128 });
  const floor: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = cpuMsOf(referencePid);
    const figures = await load('design floor', CLIENTS, { url: `${reference.url}/design-floor`, method: 'POST', body, amount: REQUESTS });
    floor.push((cpuMsOf(referencePid) - before) / figures.requests);
    // Alternating order: neither build always runs right after the floor.
    for (const build of round % 2 ? [...builds].reverse() : builds) build.cpuMs.push(await creates(build, build.tenants[round + 1]!, REQUESTS));
  }
  const ms = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  console.log(
    `Audited VM creates, ${CLIENTS} clients, ${ROUNDS} alternating rounds of ${REQUESTS}; workerd CPU ms a create (a round's figures in run order).\n`,
  );
  console.log("| build | median ms | ÷ design floor | each round ÷ that round's design floor |");
  console.log('|---|---|---|---|');
  console.log(`| design floor | ${median(floor).toFixed(2)} | 1.00 | ${ms(floor)} ms |`);
  for (const build of builds)
    console.log(
      `| ${build.label} | ${median(build.cpuMs).toFixed(2)} | ${(median(build.cpuMs) / median(floor)).toFixed(2)} | ${ms(build.cpuMs.map((c, i) => c / floor[i]!))} |`,
    );
} finally {
  await Promise.all([...builds.map((b) => b.dispose()), reference.mf.dispose()]);
}
