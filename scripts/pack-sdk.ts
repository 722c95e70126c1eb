/**
 * `npm run pack:sdk`: the installable package `custodes`: the `custodes` CLI
 * (`bin`: one bundled file for plain Node ≥ 20, scripts/build-cli.ts — the
 * verifier a tenant runs away from the provider), and two exports:
 * - `custodes/sdk`: src/sdk as JavaScript with declarations
 *   (src/sdk/tsconfig.build.json); its runtime dependencies are jose and
 *   openapi-fetch, at the versions this project pins;
 * - `custodes/testing`: src/testing the same way, plus the built Worker
 *   (scripts/build-worker.ts: the bundle, its manifest, the migrations) in
 *   `worker/`; it needs `miniflare`, an optional peer dependency, so an SDK
 *   user does not download workerd.
 * Packs it with `npm pack` and prints the tarball's path.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { buildWorker } from './build-worker.ts';
import { buildCli } from './build-cli.ts';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/sdk');
const project = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

rmSync(out, { recursive: true, force: true });
for (const part of ['sdk', 'testing'])
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, `src/${part}/tsconfig.build.json`)], { stdio: 'inherit' });
await buildCli(join(out, 'cli/custodes.js'));
const worker = await buildWorker();
cpSync(worker.dir, join(out, 'worker'), { recursive: true, filter: (path) => !path.endsWith('.map') && !path.endsWith('.inputs-hash') });

// tsc rewrites `.ts` import paths to `.js` in JavaScript but not in declarations, and leaves
// extensionless ones (the Worker's modules, written for a bundler) as they are: Node's ESM
// and a `NodeNext` type check need the file itself named.
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
const resolvedSpecifier = (file: string, specifier: string): string => {
  const bare = specifier.replace(/\.ts$/, '');
  if (existsSync(join(dirname(file), `${bare}.js`)) || existsSync(join(dirname(file), `${bare}.d.ts`))) return `${bare}.js`;
  if (existsSync(join(dirname(file), bare, 'index.js')) || existsSync(join(dirname(file), bare, 'index.d.ts'))) return `${bare}/index.js`;
  return specifier;
};
for (const file of files(out).filter((f) => /\.(d\.ts|js)$/.test(f) && !f.startsWith(join(out, 'worker')) && !f.startsWith(join(out, 'cli')))) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(
    /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)(['"])/g,
    (_, before: string, specifier: string, after: string) => `${before}${resolvedSpecifier(file, specifier)}${after}`,
  );
  if (fixed !== text) writeFileSync(file, fixed);
}

const manifest = {
  name: 'custodes',
  version: project.version,
  description:
    'The Custodes SDK (typed client, client-side envelopes, token minting, guest contents, the offline audit-log verifier) and custodes/testing (the emulator for your own test suite).',
  type: 'module',
  bin: { custodes: './cli/custodes.js' },
  exports: {
    './sdk': { types: './sdk/index.d.ts', default: './sdk/index.js' },
    './testing': { types: './testing/index.d.ts', default: './testing/index.js' },
  },
  dependencies: {
    jose: project.dependencies.jose,
    'openapi-fetch': project.dependencies['openapi-fetch'],
    'eventsource-parser': project.dependencies['eventsource-parser'],
  },
  peerDependencies: { miniflare: project.devDependencies.miniflare },
  peerDependenciesMeta: { miniflare: { optional: true } },
  engines: { node: '>=20' }, // all three parts are tested on Node 20 and 22 (miniflare's own engines field says 22)
};
writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(
  join(out, 'README.md'),
  '# custodes\n\n- `npx custodes --help`: the CLI, with the offline verifier (`custodes audit verify`).\n- `import { createApiClient, GuestContents, verifyAuditLog } from \'custodes/sdk\'` — see the Custodes guide, "Use it from your program".\n- `import { startCustodes } from \'custodes/testing\'` (with `npm install --save-dev miniflare`) — see "Test against it: custodes/testing".\n',
);

const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', join(root, 'dist')], { cwd: out, encoding: 'utf8' })
  .trim()
  .split('\n')
  .pop()!;
console.log(join(root, 'dist', tarball));
