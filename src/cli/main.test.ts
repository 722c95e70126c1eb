/**
 * Every command of the CLI, table-driven from the command tree itself: its
 * help exits 0, a stray flag exits 2 naming the flag, and nothing prints a
 * stack trace. A command added later is covered without touching this file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram, main, type Io } from './main';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (text) => (out += typeof text === 'string' ? text : new TextDecoder().decode(text)), err: (text) => (err += text) };
  const code = await main(argv, io);
  return { code, out, err };
}

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

const STACK_FRAME = /^\s+at .+[(:]\d+/m;
const paths = commandPaths(buildProgram({ out: () => {}, err: () => {} }, () => {}));
const leaves = paths.filter((path) => !paths.some((other) => other.length > path.length && path.every((name, i) => other[i] === name)));

describe('custodes CLI', () => {
  it('has the commands the README documents', () => {
    assert.ok(leaves.length >= 50, `only ${leaves.length} commands`);
    for (const expected of ['admin hosts create', 'admin changes approve', 'recover plan', 'audit verify', 'mem read', 'disk write', 'access approve']) {
      assert.ok(
        leaves.some((path) => path.join(' ') === expected),
        `missing ${expected}`,
      );
    }
  });

  for (const path of paths) {
    const name = path.join(' ');
    it(`${name}: --help exits 0 with its usage`, async () => {
      const { code, out, err } = await run([...path, '--help']);
      assert.equal(code, 0, err);
      assert.match(out, new RegExp(`^Usage: custodes ${name} `));
      assert.doesNotMatch(out + err, STACK_FRAME);
    });
  }

  for (const path of leaves) {
    const name = path.join(' ');
    it(`${name}: a stray flag exits 2 and is named`, async () => {
      const { code, out, err } = await run([...path, '--no-such-flag', 'x']);
      assert.equal(code, 2, `${name} exited ${code}: ${out}${err}`);
      assert.match(err, /unknown option '--no-such-flag'/);
      assert.doesNotMatch(out + err, STACK_FRAME);
    });
  }

  it('suggests the command or flag meant', async () => {
    const command = await run(['admin', 'hosts', 'lst']);
    assert.equal(command.code, 2);
    assert.match(command.err, /Did you mean list\?/);
    const flag = await run(['admin', 'hosts', 'list', '--page-sise', '5']);
    assert.equal(flag.code, 2);
    assert.match(flag.err, /Did you mean --page-size\?/);
  });

  it('prints its version', async () => {
    const { code, out } = await run(['--version']);
    assert.equal(code, 0);
    assert.match(out, /^\d+\.\d+\.\d+\n$/);
  });

  it("answers usage mistakes with exit 2 and a pointer to the command's help, not a stack trace", async () => {
    for (const argv of [
      ['vm', 'list'], // --tenant missing
      ['admin', 'hosts', 'create', '--name', 'h', '--vcpus', 'many', '--memory-mib', '1', '--disk-gib', '1'],
      ['label', 'set', 'secret', '--tenant', 'ten_x', '--key', 'package.json', '--vm', 'a', '--disk', 'b', '--start', '0', '--count', '1'],
      ['recover', 'plan', '--tenant', 'ten_x', '--key', 'package.json', '--mode', 'sideways'],
      ['audit', 'tail'],
      ['token', '--ttl', '901', '--iss', 'adm_x'],
    ]) {
      const { code, out, err } = await run(argv);
      assert.equal(code, 2, `${argv.join(' ')}: exit ${code}: ${out}${err}`);
      assert.match(err, /^error: /);
      assert.doesNotMatch(out + err, STACK_FRAME);
    }
    assert.match((await run(['vm', 'list'])).err, /Run `custodes vm list --help`/);
  });

  it('reports a missing key file as a usage mistake, and an unreachable API in one line, exit 1', async () => {
    const missing = await run(['admin', 'hosts', 'list', '--key', join(tmpdir(), 'no-such-key.jwk')]);
    assert.equal(missing.code, 2, missing.err);
    assert.match(missing.err, /does not exist/);
    const key = join(mkdtempSync(join(tmpdir(), 'custodes-cli-')), 'admin.jwk');
    assert.equal((await run(['keygen', '--out', key])).code, 0);
    const unreachable = await run(['admin', 'hosts', 'list', '--url', 'http://127.0.0.1:9', '--key', key, '--iss', 'adm_someone']);
    assert.equal(unreachable.code, 1, unreachable.err);
    assert.match(unreachable.err, /^error: cannot reach http:\/\/127\.0\.0\.1:9\. Is the API running\?/);
    assert.doesNotMatch(unreachable.err, STACK_FRAME);
  });

  it('refuses what is not a key, a URL that is not one, and a private key where a public one belongs — usage mistakes (exit 2) that say what to give', async () => {
    const notAKey = await run(['admin', 'hosts', 'list', '--key', 'package.json']);
    assert.equal(notAKey.code, 2, notAKey.err);
    assert.match(notAKey.err, /package\.json is not a JSON Web Key Custodes signs with/);
    const dir = mkdtempSync(join(tmpdir(), 'custodes-cli-keys-'));
    const key = join(dir, 'owner.jwk');
    const made = await run(['keygen', '--out', key]);
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, /its public half to .*owner\.pub\.jwk/);
    const notAUrl = await run(['admin', 'hosts', 'list', '--key', key, '--url', 'not-a-url']);
    assert.equal(notAUrl.code, 2, notAUrl.err);
    assert.match(notAUrl.err, /not-a-url is not a URL/);
    const privateAsPublic = await run([
      'admin',
      'tenants',
      'create',
      '--name',
      'x',
      '--owner-key',
      key,
      '--vcpus',
      '1',
      '--memory-mib',
      '1',
      '--disk-gib',
      '1',
    ]);
    assert.equal(privateAsPublic.code, 2, privateAsPublic.err);
    assert.match(privateAsPublic.err, /holds a private key: --owner-key takes the public half only .*owner\.pub\.jwk/);
    const publicToSign = await run(['admin', 'hosts', 'list', '--key', join(dir, 'owner.pub.jwk')]);
    assert.equal(publicToSign.code, 2, publicToSign.err);
    assert.match(publicToSign.err, /holds a public key only/);
  });
});
