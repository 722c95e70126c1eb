/** The deployment check `npm test` runs (scripts/deploy-check.ts, issue 17): it builds what `wrangler deploy` would upload, and it can fail. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployCheck, FREE_PLAN_LIMIT_KIB } from '../../scripts/deploy-check';

describe('deploy check', () => {
  it('builds the bundle with wrangler deploy --dry-run, with every binding, within the Free plan limit — and refuses a bundle over a limit', () => {
    const check = deployCheck({ limitKiB: FREE_PLAN_LIMIT_KIB });
    assert.deepEqual(check.problems, []);
    assert.ok(check.gzipKiB > 10 && check.gzipKiB < check.bundleKiB, `gzip ${check.gzipKiB} of ${check.bundleKiB} KiB`);
    for (const binding of ['DB', 'AUDIT_LOG', 'PRINCIPAL_RATE_LIMIT', 'ADDRESS_RATE_LIMIT']) assert.ok(check.bindings.includes(binding), binding);
    const tight = deployCheck({ limitKiB: Math.floor(check.gzipKiB / 2) });
    assert.match(tight.problems.join('\n'), /gzipped, over the \d+ KiB limit/);
  });
});
