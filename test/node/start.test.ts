/**
 * The README's contract, end to end: `npm start` serves the API on a local D1
 * and prints a first command, and that command succeeds. Runs scripts/start.js
 * on its own port and database so it never disturbs a developer's instance.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const PORT = '8791';
const state = mkdtempSync(join(tmpdir(), 'custodes-start-'));
const server = spawn(process.execPath, ['scripts/start.js'], {
  env: { ...process.env, CUSTODES_PORT: PORT, CUSTODES_STATE: state },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true, // its own process group: wrangler and workerd stop with it
});
let output = '';
server.stdout.on('data', (chunk) => (output += chunk));
server.stderr.on('data', (chunk) => (output += chunk));

after(() => {
  try {
    process.kill(-server.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(state, { recursive: true, force: true });
});

async function printedCommand(): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const match = /Try a first authenticated call:\n\s+(npx custodes .+)\n/.exec(output);
    if (match) return match[1]!;
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`npm start printed no first command:\n${output}`);
}

describe('npm start', () => {
  it('serves the API and prints a first command that works', { timeout: 150_000 }, async () => {
    const command = await printedCommand();
    assert.match(command, new RegExp(`--url http://127\\.0\\.0\\.1:${PORT}$`));
    const args = command.replace(/^npx custodes /, '').split(/\s+/);
    const run = spawnSync(process.execPath, ['bin/custodes.js', ...args], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${command}\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /\(none\)|^ID\s+NAME/m);

    const health = await fetch(`http://127.0.0.1:${PORT}/v1/health`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get('Custodes-Audit') ?? '', /^log=provider; index=\d+$/);
  });
});
