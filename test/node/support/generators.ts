/**
 * Client generators run on openapi.yaml as a user outside the project would
 * run them: each writes a client into a directory of its own.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const SPEC = resolve('openapi.yaml');
const bin = (name: string) => resolve('node_modules/.bin', name);

function run(command: string, args: string[], cwd?: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
}

export const GENERATORS = {
  /** @hey-api/openapi-ts: fetch client, SDK functions, types. */
  'hey-api': (dir: string) => run(bin('openapi-ts'), ['-i', SPEC, '-o', dir]),
  /** orval: one module of fetch functions. */
  orval: (dir: string) => {
    writeFileSync(
      join(dir, 'orval.config.mjs'),
      `export default { custodes: { input: ${JSON.stringify(SPEC)}, output: { target: ${JSON.stringify(join(dir, 'custodes.ts'))}, client: 'fetch', mode: 'single' } } };\n`,
    );
    run(bin('orval'), ['--config', join(dir, 'orval.config.mjs')], dir);
  },
  /** openapi-typescript: path types, for openapi-fetch (what src/sdk is built on). */
  'openapi-typescript': (dir: string) => run(bin('openapi-typescript'), [SPEC, '-o', join(dir, 'schema.ts')]),
} as const;

export type GeneratorName = keyof typeof GENERATORS;
