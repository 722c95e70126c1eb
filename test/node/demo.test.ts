/**
 * `npm run demo` is part of the contract (issues 5 and 15): the whole story —
 * intrusion, persistence, undo, rotation — runs green against a fresh local
 * instance, through the CLI. The demo checks each of its steps
 * itself and exits non-zero on any surprise; this test holds it to that.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('npm run demo', () => {
  it('tells the whole story, every step checked', { timeout: 300_000 }, () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { encoding: 'utf8', env: { ...process.env, DEMO_PORT: '0' } });
    const output = `${run.stdout}${run.stderr}`;
    assert.equal(run.status, 0, output);
    for (const line of [
      "the attempt is a signed record in the tenant's own log",
      'tls-key shows as exposed',
      'the application state is back, byte for byte',
      'the legitimate write made after the attack survived',
      'is revoked by the undo, though no seed named it',
      "and so is the persistence toolstack's",
      'the current contents read back exactly, re-sealed under the new key',
      'no longer opens with anything the provider holds',
      'the exposure report shows both disclosures as rotated',
      'Demo complete.',
    ])
      assert.ok(output.includes(line), `missing "${line}" in:\n${output}`);
    // It says where it serves, once it knows (never "on  (…)").
    assert.match(output, /serving on http:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(output, /on {2}\(/);
  });
});
