/**
 * `npm run bench:perf`: where workerd's CPU goes, native code included (issue 34).
 * bench/profile.ts samples the Worker's own isolate through the inspector; it
 * cannot see D1's emulation, the runtime's C++, V8's internals or SQLite —
 * where most of a page batch's CPU is. This samples the whole workerd process
 * with Linux `perf` while one workload runs (64-page writes or reads through
 * the SDK, or audited VM creates from 16 clients), with V8's perf map on
 * (`--perf-basic-prof`, through Miniflare's MINIFLARE_WORKERD_V8_FLAGS) so
 * JavaScript frames are named too. It prints the largest self costs and the
 * largest JavaScript frames by inclusive share. Found this way: V8's
 * `ChangeEncoding` in every batch's JSON (a two-byte checkpoint parameter,
 * lib/bytes oneByteString) and the per-page hex decode of a read.
 *
 * Needs `perf` (Debian: linux-perf) and permission to sample a child
 * (kernel.perf_event_paranoid ≤ 2); not part of `npm run bench`.
 *   npm run bench:perf -- write|read|create [seconds]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerdProcesses } from './workers';

const workload = (process.argv[2] ?? 'write') as 'write' | 'read' | 'create';
const seconds = Number(process.argv[3] ?? 10);
const ROWS = Number(process.env.PERF_ROWS ?? 20);

/** The Worker bundle's source map (the bundle is minified, names kept): a frame `index.js:L:C` becomes `src/…:line`. */
const bundleMap = new SourceMap(JSON.parse(readFileSync(new URL('../dist/worker/index.js.map', import.meta.url), 'utf8')));
function sourceOf(frame: string): string {
  const at = /index\.js:(\d+):(\d+)/.exec(frame);
  if (!at) return '';
  const entry = bundleMap.findEntry(Number(at[1]) - 1, Number(at[2]));
  return 'originalSource' in entry ? `${entry.originalSource.replace(/^.*?\/src\//, 'src/')}:${entry.originalLine + 1}` : '';
}

if (spawnSync('perf', ['--version']).status !== 0) {
  console.error('bench:perf needs Linux perf on PATH (Debian: apt-get install linux-perf).');
  process.exit(2);
}
// Read by Miniflare when it starts workerd: set before the launcher is loaded.
process.env.MINIFLARE_WORKERD_V8_FLAGS = [process.env.MINIFLARE_WORKERD_V8_FLAGS, '--perf-basic-prof'].filter(Boolean).join(' ');
const { startCustodes } = await import('../src/testing/index.ts');
const { GuestContents } = await import('../src/sdk/guest-contents.ts');
const { newKeystore } = await import('../src/sdk/keystore.ts');

// V8 with a perf map also writes a code log per isolate into workerd's working directory: keep those out of the checkout.
const scratch = mkdtempSync(join(tmpdir(), 'custodes-perf-'));
process.chdir(scratch);
const emu = await startCustodes();
const data = join(scratch, 'perf.data');
let workerd = '';
try {
  const t = await emu.provisionTenant({ vm: { vcpus: 1, memoryMiB: 128 }, quota: { vcpus: 4096, memoryMiB: 64 * 2 ** 20, diskGiB: 1000 } });
  const contents = new GuestContents(t.owner.api, await newKeystore());
  const memory = { tenant: t.tenant, space: 'memory' as const, resource: t.vm };
  const bytes = randomFillSync(new Uint8Array(8 * 2 ** 20));
  await contents.write(memory, 0, bytes); // written once, so reads find pages and writes find heads
  const admin = emu.client(emu.admins[0]);
  let created = 0;
  const round = {
    write: () => contents.write(memory, 0, bytes),
    read: () => contents.read(memory, 0, bytes.length),
    create: () =>
      Promise.all(
        Array.from({ length: 16 }, () =>
          admin.POST('/v1/admin/tenants/{tenant}/vms', {
            params: { path: { tenant: t.tenant } },
            body: { name: `perf-${created++}`, vcpus: 1, memoryMiB: 128 },
          }),
        ),
      ),
  }[workload];
  // The workerd Miniflare started for this process.
  workerd = String(workerdProcesses().at(-1)?.pid ?? '');
  if (!workerd) throw new Error('no workerd under this process to sample');
  const perf = spawn('perf', ['record', '-F', '999', '-g', '-p', workerd, '-o', data, '--', 'sleep', String(seconds + 1)], { stdio: 'ignore' });
  const recorded = new Promise((resolve) => perf.on('exit', resolve));
  const end = Date.now() + seconds * 1000;
  let rounds = 0;
  while (Date.now() < end) {
    await round();
    rounds++;
  }
  await recorded;
  const report = (args: string[]) =>
    execFileSync('perf', ['report', '-i', data, '--sort', 'sym', '-g', 'none', ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
      .split('\n')
      .filter((line) => /^\s+\d/.test(line));
  const self = report(['--no-children']).slice(0, ROWS);
  const frames = report(['--children'])
    .filter((line) => line.includes('JS:'))
    .slice(0, ROWS);
  console.log(
    [
      `## workerd's CPU, native code included: ${workload} (\`npm run bench:perf -- ${workload}\`)`,
      '',
      `${rounds} rounds in ${seconds} s (${{ write: '8 MiB written', read: '8 MiB read', create: '16 VM creates at once' }[workload]} a round), sampled at 999 Hz.`,
      '',
      '| self | symbol |',
      '|---|---|',
      ...self.map((line) => {
        const [share, ...rest] = line.trim().split(/\s+/);
        return `| ${share} | \`${rest
          .join(' ')
          .replace(/^\[[.k]\]\s+/, '')
          .slice(0, 120)}\` |`;
      }),
      '',
      '| with callees | self | JavaScript frame | source |',
      '|---|---|---|---|',
      ...frames.map((line) => {
        const [withCallees, own, ...rest] = line.trim().split(/\s+/);
        const frame = rest.join(' ').replace(/^\[[.k]\]\s+/, '');
        return `| ${withCallees} | ${own} | \`${frame.slice(0, 100)}\` | ${sourceOf(frame)} |`;
      }),
    ].join('\n'),
  );
} finally {
  await emu.close();
  process.chdir(tmpdir());
  rmSync(scratch, { recursive: true, force: true });
  // V8's perf map of the workerd process this run sampled.
  if (workerd) rmSync(`/tmp/perf-${workerd}.map`, { force: true });
}
