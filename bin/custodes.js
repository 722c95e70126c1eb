#!/usr/bin/env node
// The CLI in the checkout: its bundle (scripts/build-cli.ts, built on `npm ci`) when
// that is newer than every source file — it starts in ~0.1 s — else the TypeScript
// itself, loaded through tsx (~2 s), so an edit is never run stale.
import { existsSync, readdirSync, statSync } from 'node:fs';

const bundle = new URL('../dist/cli/custodes.js', import.meta.url);
const newestUnder = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, dir);
    return Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }, 0);

if (existsSync(bundle) && statSync(bundle).mtimeMs > newestUnder(new URL('../src/', import.meta.url))) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
