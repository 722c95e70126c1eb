/**
 * `npm run test:suites` (the last step of `npm test`): the Node suite and the workerd suite side by side.
 *
 * Why: each spends much of its time waiting — on a workerd it started, a CLI process, Miniflare's start — and
 * each runs one test file at a time, so on this 2-core machine together they take little more than the longer
 * one, where one after the other they took the sum (313 + 229 s on a quiet day; `npm test` went past the
 * 15-minute budget on a slow one). Every line is prefixed with its suite, as it comes (a hang shows where it
 * hangs); the exit code is non-zero when either suite fails, and both always run to their end.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** npm scripts to run side by side: those named on the command line, else the two suites. */
const SUITES = process.argv.length > 2 ? process.argv.slice(2) : ['test:node', 'test:unit'];

interface Outcome {
  suite: string;
  code: number;
  seconds: number;
}

function runSuite(suite: string): Promise<Outcome> {
  const started = performance.now();
  // The npm that runs this script, on the Node that runs it (node@22 from node_modules/.bin under npm run).
  const npm = process.env.npm_execpath;
  const child = npm
    ? spawn(process.execPath, [npm, 'run', '--silent', suite], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('npm', ['run', '--silent', suite], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => process.stdout.write(`[${suite}] ${line}\n`));
  }
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stdout.write(`[${suite}] could not start: ${error.message}\n`);
      resolve({ suite, code: 1, seconds: 0 });
    });
    child.on('exit', (code, signal) => {
      if (signal) process.stdout.write(`[${suite}] ended by ${signal}\n`);
      resolve({ suite, code: code ?? 1, seconds: (performance.now() - started) / 1000 });
    });
  });
}

const outcomes = await Promise.all(SUITES.map(runSuite));
for (const { suite, code, seconds } of outcomes) console.log(`${suite}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${seconds.toFixed(0)} s`);
process.exitCode = outcomes.some((o) => o.code !== 0) ? 1 : 0;
