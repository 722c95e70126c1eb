/**
 * `npm run check:layers`: the bottom of the tree stays at the bottom.
 * `src/lib/` (pure helpers) imports nothing but `lib/`; `src/platform/` (HTTP
 * and D1 plumbing) and `src/env.ts` import nothing but `platform/`, `lib/` and
 * `env.ts` — never a feature, nor the route composition in `src/http/`. Every
 * import counts, type-only ones too: a type that points up is how a layer
 * starts to depend on what it serves. (Import circles are `check:cycles`:
 * dpdm, type-only imports included.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : name.endsWith('.ts') && !name.endsWith('.test.ts') ? [join(dir, name)] : [],
  );

/** Where a file of `src` may import from, by its layer; null: anywhere. */
function allowedFor(path: string): string[] | null {
  if (path.startsWith(`lib${sep}`)) return ['lib'];
  if (path.startsWith(`platform${sep}`) || path === 'env.ts') return ['lib', 'platform', 'env.ts'];
  return null;
}

/** Every import in `srcDir` that reaches above its file's layer: `file → import`. */
export function layerViolations(srcDir: string): string[] {
  const violations: string[] = [];
  for (const file of filesUnder(srcDir)) {
    const rel = relative(srcDir, file);
    const allowed = allowedFor(rel);
    if (!allowed) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2]!;
      if (!specifier.startsWith('.')) continue; // packages and runtime modules
      const target = relative(srcDir, resolve(dirname(file), specifier));
      if (target.startsWith('..')) continue; // outside src
      const top = target.split(sep)[0]!;
      const layer = top === 'env' || top === 'env.ts' ? 'env.ts' : top;
      if (!allowed.includes(layer)) violations.push(`${rel} → ${specifier}`);
    }
  }
  return violations;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const src = process.argv[2] ?? fileURLToPath(new URL('../src', import.meta.url));
  const found = layerViolations(src);
  if (found.length > 0) {
    console.error(`Imports that reach above their layer (lib imports lib; platform and env.ts import platform, lib, env.ts):\n  ${found.join('\n  ')}`);
    process.exit(1);
  }
  console.log('Layers hold: lib/, platform/ and env.ts import nothing above them.');
}
