/**
 * `npm run build:cli`: the `custodes` CLI as one JavaScript file (and its
 * parallel checker's worker beside it) for plain
 * Node ≥ 20 — no tsx, no checkout, no dependencies left to install (commander,
 * yaml, jose and openapi-fetch are in the bundle). The installed package's
 * `bin` is this file (scripts/pack-sdk.ts); the checkout's bin/custodes.js
 * runs it too when it is newer than every source, which saves the ~2 s tsx
 * takes to load TypeScript on every call.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
export const CLI_BUNDLE = join(root, 'dist/cli/custodes.js');

export async function buildCli(outfile = CLI_BUNDLE): Promise<{ outfile: string; bytes: number }> {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    define: { CUSTODES_CLI_VERSION: JSON.stringify(version) },
    // Bundled CommonJS dependencies call require(): give the ES module one.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __custodesRequire } from 'node:module';\nconst require = __custodesRequire(import.meta.url);",
    },
    logLevel: 'warning',
  } as const;
  await build({ ...common, entryPoints: [join(root, 'src/cli/bin.ts')], outfile });
  // The parallel record checker's worker thread, loaded from beside the CLI (src/cli/parallel-verify.ts).
  await build({ ...common, entryPoints: [join(root, 'src/cli/chunk-checker.worker.ts')], outfile: join(dirname(outfile), 'chunk-checker.worker.js') });
  return { outfile, bytes: statSync(outfile).size };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { outfile, bytes } = await buildCli();
  console.log(`built ${outfile}: ${(bytes / 1024).toFixed(0)} KiB${existsSync(outfile) ? '' : ' (missing?)'}`);
}
