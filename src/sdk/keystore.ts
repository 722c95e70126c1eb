/**
 * The tenant's local keystore: the key-encryption key (KEK) that wraps data
 * keys, kept in a file the tenant owns and the provider never sees. Data keys
 * themselves are stored *wrapped* with the provider (`/keys`), as compact JWE
 * (RFC 7516; `A256KW` key wrap, RFC 7518 §4.4, with `A256GCM` content
 * encryption), named `dek-<key-id hex>` after the id every envelope carries.
 */
import { compactDecrypt, CompactEncrypt, exportJWK, importJWK, type JWK } from 'jose';
import { importDataKey, keyIdHex, type DataKey } from './envelope.ts';

export interface Keystore {
  v: 1;
  /** AES-256 key-wrapping key, as an `oct` JWK. */
  kek: JWK;
  /** Id (hex) of the data key new pages are sealed with; its wrapped copy is at the provider. */
  currentDataKey?: string;
  /**
   * Tenant-held evidence (issue 30): the newest version this keystore's
   * writes made of each page, by `space:resource` then page index. A read
   * served an older version — or none — of a page this keystore wrote later
   * is refused without consulting the provider's log.
   */
  written?: Record<string, Record<string, number>>;
  /**
   * The highest audit record index of this keystore's own writes, by log: a
   * verified log that ends before it was rolled back behind the tenant's back.
   */
  writtenAt?: Record<string, number>;
}

/** A new keystore with a fresh 256-bit KEK (the CLI keeps it in a file: keystore-file.ts). */
export async function newKeystore(): Promise<Keystore> {
  const kek = await exportJWK((await crypto.subtle.generateKey({ name: 'AES-KW', length: 256 }, true, ['wrapKey', 'unwrapKey'])) as CryptoKey);
  return { v: 1, kek: { ...kek, alg: 'A256KW' } };
}

export const wrappedKeyName = (id: Uint8Array | string): string => `dek-${typeof id === 'string' ? id : keyIdHex(id)}`;

/** Wraps a raw data key under the KEK: what the provider stores. */
export async function wrapDataKey(keystore: Keystore, id: Uint8Array, raw: Uint8Array): Promise<string> {
  return new CompactEncrypt(raw)
    .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: wrappedKeyName(id) })
    .encrypt(await importJWK(keystore.kek, 'A256KW'));
}

export async function unwrapDataKey(keystore: Keystore, id: Uint8Array, wrapped: string): Promise<DataKey> {
  const { plaintext, protectedHeader } = await compactDecrypt(wrapped, await importJWK(keystore.kek, 'A256KW'));
  if (protectedHeader.kid !== wrappedKeyName(id)) throw new Error(`wrapped key ${protectedHeader.kid} is not ${wrappedKeyName(id)}`);
  return { id, key: await importDataKey(plaintext) };
}
