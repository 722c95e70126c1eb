/**
 * The Worker bundle (issue 34): zod's locales other than English are left out
 * (src/platform/zod/locales.ts, wrangler.toml `[alias]`): 264 KB less to parse
 * on every start of workerd. The API's validation messages are still zod's
 * English ones.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildWorker } from '../../scripts/build-worker';
import { startCustodes, type Custodes } from '../../src/testing/index';

let bundle = '';
let emu: Custodes | undefined;

before(async () => {
  const { dir } = await buildWorker();
  bundle = readFileSync(join(dir, 'index.js'), 'utf8');
});
after(async () => {
  await emu?.close();
});

describe('the Worker bundle', () => {
  it("holds zod's English messages and none of its other locales", () => {
    assert.ok(bundle.includes('Invalid input: expected'), "zod's English locale is in the bundle");
    // How zod's German, French, Italian and Spanish locales word it (ASCII words: the bundle escapes the rest).
    for (const foreign of ['Eingabe: erwartet', 'attendu', 'Input non valido', 'se esperaba']) {
      assert.equal(bundle.includes(foreign), false, `${foreign} is in the bundle`);
    }
  });

  it('still words a validation failure in English', async () => {
    emu = await startCustodes();
    const refused = await emu
      .client(emu.admins[0])
      .POST('/v1/admin/hosts', { body: { name: 'h1', vcpus: 'many' as never, memoryMiB: 1024, diskGiB: 10 } })
      .then(
        () => null,
        (error: { problem?: { status: number; code: string; errors: { path: string; message: string }[] } }) => error.problem,
      );
    assert.ok(refused, 'the request was refused');
    assert.equal(refused.status, 400);
    assert.equal(refused.code, 'invalid_request');
    assert.deepEqual(
      refused.errors.find((e) => e.path === 'json.vcpus'),
      { path: 'json.vcpus', message: 'Invalid input: expected number, received string' },
    );
  });
});
