#!/usr/bin/env node
/**
 * Builds the console (src/console) into public/console/ — one ES module,
 * its stylesheet and its page — which the Worker serves as static assets at
 * /console/. No CDN, no framework: the bundle is jose, the shared verifier
 * modules, @noble's SHA-256 and Ed25519 for the synchronous parts of that
 * verifier (node:crypto is aliased to src/console/node-crypto.ts; bytes
 * as text come from src/lib/bytes.ts, which needs no Buffer) and the
 * console's own DOM code. Runs on `npm ci` (prepare), on `npm start`, and
 * before the browser tests; plain Node.
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/console');
export const CONSOLE_DIR = join(root, 'public/console');

export async function buildConsole(out = CONSOLE_DIR) {
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: [join(source, 'main.ts')],
    outfile: join(out, 'console.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    alias: { 'node:crypto': join(source, 'node-crypto.ts') },
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'console.css']) copyFileSync(join(source, file), join(out, file));
  return { bytes: statSync(join(out, 'console.js')).size, inputs: Object.keys(result.metafile.inputs).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { bytes, inputs } = await buildConsole();
  console.log(`built ${CONSOLE_DIR}/console.js: ${(bytes / 1024).toFixed(0)} KiB from ${inputs} modules`);
}
