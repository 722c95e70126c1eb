/** The local D1 of a persisted instance, as a dishonest provider would open it (node:sqlite). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The D1 database file under a persisted instance's state directory. */
export function findD1(root: string): string {
  const files = (readdirSync(root, { recursive: true }) as string[])
    .map((f) => join(root, f))
    .filter((f) => f.endsWith('.sqlite') && /D1DatabaseObject/.test(f) && !f.endsWith('metadata.sqlite'));
  const biggest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!biggest) throw new Error(`no D1 database under ${root}`);
  return biggest;
}
