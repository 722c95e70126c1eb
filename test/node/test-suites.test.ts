/**
 * scripts/test-suites.ts, the last step of `npm test`: npm scripts side by side, every line prefixed with its
 * script, and a failure of either fails the whole (while the other still runs to its end).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const runner = join(import.meta.dirname, '../../scripts/test-suites.ts');
const tsx = join(import.meta.dirname, '../../node_modules/tsx/dist/cli.mjs');
const dir = mkdtempSync(join(tmpdir(), 'custodes-suites-'));
writeFileSync(
  join(dir, 'package.json'),
  JSON.stringify({
    name: 'suites-fixture',
    private: true,
    scripts: {
      passes: 'node -e "console.log(\'all good\')"',
      fails: 'node -e "console.error(\'broken\'); process.exit(3)"',
      slow: 'node -e "setTimeout(() => console.log(\'slow done\'), 300)"',
    },
  }),
);
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (...scripts: string[]) => spawnSync(process.execPath, [tsx, runner, ...scripts], { cwd: dir, encoding: 'utf8' });

describe('npm test runs its suites side by side', () => {
  it('passes when every script passes, each line prefixed with its script', () => {
    const { status, stdout } = run('passes', 'slow');
    assert.equal(status, 0, stdout);
    assert.match(stdout, /^\[passes\] all good$/m);
    assert.match(stdout, /^\[slow\] slow done$/m);
    assert.match(stdout, /^passes: passed/m);
  });

  it('fails when one script fails, and still runs the other to its end', () => {
    const { status, stdout } = run('fails', 'slow');
    assert.equal(status, 1, stdout);
    assert.match(stdout, /^\[fails\] broken$/m);
    assert.match(stdout, /^fails: FAILED \(exit 3\)/m);
    assert.match(stdout, /^\[slow\] slow done$/m);
  });
});
