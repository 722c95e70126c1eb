/**
 * `npm run pack:sdk`: the SDK as an installable package. Compiles src/sdk to
 * JavaScript with declarations (src/sdk/tsconfig.build.json), writes the
 * package's own manifest — name `custodes`, one export `custodes/sdk`, the
 * SDK's two runtime dependencies at the versions this project pins — and
 * packs it with `npm pack`. Prints the tarball's path.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/sdk');
const project = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'src/sdk/tsconfig.build.json')], { stdio: 'inherit' });

// tsc rewrites `.ts` import paths to `.js` in JavaScript but not in declarations.
const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
for (const file of files(out).filter((f) => f.endsWith('.d.ts'))) {
  writeFileSync(file, readFileSync(file, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$2'));
}

const manifest = {
  name: 'custodes',
  version: project.version,
  description: 'The Custodes SDK: typed client, client-side envelopes, token minting, guest contents and the offline audit-log verifier.',
  type: 'module',
  exports: { './sdk': { types: './sdk/index.d.ts', default: './sdk/index.js' } },
  dependencies: { jose: project.dependencies.jose, 'openapi-fetch': project.dependencies['openapi-fetch'] },
  engines: { node: '>=20' },
};
writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(join(out, 'README.md'), '# custodes/sdk\n\n`import { createApiClient, GuestContents, verifyAuditLog } from \'custodes/sdk\'` — see the Custodes README, "Use it from your program".\n');

const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', join(root, 'dist')], { cwd: out, encoding: 'utf8' }).trim().split('\n').pop()!;
console.log(join(root, 'dist', tarball));
