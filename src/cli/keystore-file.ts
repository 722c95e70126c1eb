/** The keystore as a file the tenant owns (mode 0600), for the CLI. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { newKeystore, type Keystore } from '../sdk/keystore';
import { UsageError } from './context';

export const DEFAULT_KEYSTORE = '.custodes/keystore.json';

/** The keystore a command uses: --keystore, else $CUSTODES_KEYSTORE, else the default. */
export const keystorePath = (o: { keystore?: string }): string => o.keystore ?? process.env.CUSTODES_KEYSTORE ?? DEFAULT_KEYSTORE;

export async function initKeystore(path: string): Promise<Keystore> {
  if (existsSync(path)) throw new UsageError(`${path} already exists; a keystore is never overwritten (its KEK is the only way to your data)`);
  const keystore = await newKeystore();
  saveKeystore(path, keystore);
  return keystore;
}

export function loadKeystore(path: string): Keystore {
  if (!existsSync(path)) throw new UsageError(`no keystore at ${path}; create one with \`custodes key init\``);
  return JSON.parse(readFileSync(path, 'utf8')) as Keystore;
}

export function saveKeystore(path: string, keystore: Keystore): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600 });
}
