/**
 * `npm run bench:start`: how long `npm start` and `startCustodes` take to a
 * served health check on this machine.
 * - cold: no built Worker (dist/worker removed) and an empty database, so the
 *   start builds the bundle and applies every migration (the dev keys exist:
 *   making them takes milliseconds);
 * - warm: a restart with both in place.
 * `npm run bench` includes this section; run alone, it replaces the section
 * in bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_DIR } from '../scripts/build-worker.ts';
import { startCustodes } from '../src/testing/index.ts';
import { median } from './workers';

const ROUNDS = 3;
const TITLE = '## Start-up (npm start, startCustodes)';

/** Milliseconds from spawning `npm start` to its "serving" line (printed after a served health check). */
function timeStart(state: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/start.ts'], {
      env: { ...process.env, CUSTODES_PORT: '0', CUSTODES_STATE: state },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (/Custodes is serving on/.test(output)) {
        const ms = performance.now() - started;
        process.kill(-child.pid!, 'SIGTERM');
        child.on('exit', () => resolve(ms));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => code !== null && !/Custodes is serving on/.test(output) && reject(new Error(`npm start exited ${code}:\n${output}`)));
  });
}

const s = (ms: number) => (ms / 1000).toFixed(2);

export async function startReport(): Promise<string[]> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const state = mkdtempSync(join(tmpdir(), 'custodes-start-bench-'));
    rmSync(WORKER_DIR, { recursive: true, force: true });
    cold.push(await timeStart(state));
    warm.push(await timeStart(state));
    rmSync(state, { recursive: true, force: true });
  }
  const emulator: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const emu = await startCustodes();
    emulator.push(emu.startupMs);
    await emu.close();
  }
  return [
    TITLE,
    '',
    `${ROUNDS} rounds each; the median, with the range. Cold: no built Worker and an empty database (the bundle is built by \`wrangler deploy --dry-run\` and every migration applied); warm: a restart with both in place. To "serving" = after a served \`GET /v1/health\`.`,
    '',
    '| start | median s | range s | target |',
    '|---|---|---|---|',
    `| \`npm start\`, cold | ${s(median(cold))} | ${s(Math.min(...cold))}–${s(Math.max(...cold))} | ≤ 8 |`,
    `| \`npm start\`, warm | ${s(median(warm))} | ${s(Math.min(...warm))}–${s(Math.max(...warm))} | ≤ 4 |`,
    `| \`startCustodes()\` in memory (in process) | ${s(median(emulator))} | ${s(Math.min(...emulator))}–${s(Math.max(...emulator))} | ≤ 2 |`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const section = await startReport();
  console.log(section.join('\n'));
  const file = new URL('./RESULTS.md', import.meta.url);
  const current = readFileSync(file, 'utf8');
  const start = current.indexOf(TITLE);
  const end = start < 0 ? -1 : current.indexOf('\n## ', start + TITLE.length);
  const next =
    start < 0 ? `${current.trimEnd()}\n\n${section.join('\n')}\n` : `${current.slice(0, start)}${section.join('\n')}\n${end < 0 ? '' : current.slice(end)}`;
  writeFileSync(file, next);
}
