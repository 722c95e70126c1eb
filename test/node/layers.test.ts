/**
 * The checks that keep the tree's layers (issue 33) catch what they are for:
 * an import circle made of type-only imports (`check:cycles`: dpdm without
 * `--transform`), and an import from `platform/` or `lib/` up into a feature
 * (`check:layers`). Each is planted in a scratch tree; the real tree passes both.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { layerViolations } from '../../scripts/check-layers';

const scratch = mkdtempSync(join(tmpdir(), 'custodes-layers-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(scratch, 'src-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const cycles = (src: string) =>
  spawnSync(process.execPath, [resolve('node_modules/dpdm/lib/bin/dpdm.js'), '--no-warning', '--no-tree', '--exit-code', 'circular:1', `${src}/**/*.ts`], {
    encoding: 'utf8',
  });

describe('issue 33: the layer checks', () => {
  it('check:cycles fails on a circle of type-only imports, and passes the real tree', () => {
    const planted = tree({
      'audit/a.ts': "import type { B } from '../tenant/b';\nexport interface A { b?: B }\n",
      'tenant/b.ts': "import type { A } from '../audit/a';\nexport interface B { a?: A }\n",
    });
    const caught = cycles(planted);
    assert.equal(caught.status, 1, caught.stdout);
    assert.match(caught.stdout, /(audit\/a\.ts -> .*tenant\/b\.ts|tenant\/b\.ts -> .*audit\/a\.ts)/);
    assert.equal(cycles('src').status, 0, 'the real tree has no circle');
  });

  it('check:layers names an import from platform/ or lib/ up into a feature (type-only too), and passes the real tree', () => {
    const planted = tree({
      'platform/http/thing.ts': "import type { AuditRecord } from '../../audit/format/record';\nexport type T = AuditRecord;\n",
      'lib/pure.ts': "import { now } from '../platform/clock';\nexport const x = now;\n",
      'env.ts': "import type { Principal } from './auth/principals';\nexport type P = Principal;\n",
      'audit/ok.ts': "import { x } from '../lib/pure';\nexport const y = x;\n",
    });
    assert.deepEqual(layerViolations(planted).sort(), [
      'env.ts → ./auth/principals',
      'lib/pure.ts → ../platform/clock',
      'platform/http/thing.ts → ../../audit/format/record',
    ]);
    assert.deepEqual(layerViolations(resolve('src')), []);
  });
});
