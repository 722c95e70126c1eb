#!/usr/bin/env node
/**
 * Copies the browser bundles the Worker serves as static assets from their
 * npm packages into `public/vendor/` (git-ignored), so `/docs` renders with
 * no network: nothing is fetched from a CDN at run time. Runs on `npm ci`
 * (`prepare`) and again on `npm start`; plain Node, any version ≥ 18.
 */
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The package's `exports` do not list its browser build, so it is found by path.
const packageDir = (name) => join(root, 'node_modules', name);

/** Each asset: where it is served from (under public/), and the package file it is. */
export const VENDORED = [
  // The UMD build: one file that registers `window.Scalar`, loaded by Scalar's HTML as a plain <script>.
  { served: 'vendor/scalar/api-reference.js', from: join(packageDir('@scalar/api-reference'), 'dist/browser/standalone.js') },
];

export function vendorAssets() {
  for (const { served, from } of VENDORED) {
    const to = join(root, 'public', served);
    if (existsSync(to) && statSync(to).size === statSync(from).size) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) vendorAssets();
