/**
 * Client-side page encryption (docs/design.md §4). The provider only ever sees
 *
 *     envelope = 0x01 | key-id (16) | nonce (12) | AES-256-GCM(page) + tag (16)
 *
 * with additional data `custodes/v1|<tenant>|<vm-or-disk>|<space>|<index>|<key-id hex>`
 * (UTF-8; ids never contain `|`), so a page moved to another index, VM, disk
 * or tenant fails authentication on decrypt (NIST SP 800-38D §5.2.1.1's
 * additional authenticated data). Nonces are random 96-bit values: at 2^32
 * pages per data key the collision bound of SP 800-38D §8.3 still holds, and
 * the SDK rotates data keys long before that.
 *
 * WebCrypto everywhere (Node, workerd, browsers); on Node, its own AES-GCM is
 * used instead, with the same format: one synchronous call per page is ~10×
 * cheaper than WebCrypto's promise per page, and a 64-page batch is sealed or
 * opened in well under a millisecond.
 */
import type * as NodeCrypto from 'node:crypto';
import { equalBytes, hexOf } from '../lib/bytes.ts';
import { nodeCrypto } from './native-crypto.ts';
import { ENVELOPE_BYTES, ENVELOPE_VERSION, HEADER_BYTES, KEY_ID_BYTES, NONCE_BYTES, PAGE_BYTES, TAG_BYTES, type Space } from '../lib/envelope-format.ts';

export { ENVELOPE_BYTES, ENVELOPE_VERSION, KEY_ID_BYTES, NONCE_BYTES, PAGE_BYTES, type Space };

/** Each data key as a node:crypto KeyObject, converted once. */
const keyObjects = new WeakMap<CryptoKey, NodeCrypto.KeyObject>();
function keyObject(crypto: typeof NodeCrypto, key: CryptoKey): NodeCrypto.KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = crypto.KeyObject.from(key as Parameters<typeof crypto.KeyObject.from>[0]);
    keyObjects.set(key, object);
  }
  return object;
}

/** Where a page lives: bound into its ciphertext. */
export interface PageAddress {
  tenant: string;
  /** VM id (memory) or disk id. */
  resource: string;
  space: Space;
  index: number;
}

/** An AES-256-GCM data key and its 16-byte id (which names its wrapped copy at the provider). */
export interface DataKey {
  id: Uint8Array;
  key: CryptoKey;
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

export const keyIdHex = (id: Uint8Array): string => hexOf(id);

const encoder = new TextEncoder();

export function additionalData(address: PageAddress, keyId: Uint8Array): Uint8Array {
  const { tenant, resource, space, index } = address;
  return encoder.encode(`custodes/v1|${tenant}|${resource}|${space}|${index}|${hexOf(keyId)}`);
}

export async function newDataKey(): Promise<DataKey & { raw: Uint8Array }> {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  return { id: crypto.getRandomValues(new Uint8Array(KEY_ID_BYTES)), key: await importDataKey(raw), raw };
}

export const importDataKey = (raw: Uint8Array): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);

/**
 * Random nonces drawn NONCES_PER_DRAW at a time: a `getRandomValues` call costs ~10 µs here whatever
 * its size — more than sealing the page itself (issue 34: ~10% of a 64-page write's client CPU went
 * to drawing 64 nonces one by one). Each is handed out once and no pool is ever drawn into again, so
 * every nonce is as random as one drawn alone (NIST SP 800-38D §8.2.2, random IVs).
 */
const NONCES_PER_DRAW = 256;
let nonces = new Uint8Array(new ArrayBuffer(0));
let nextNonce = 0;
function freshNonce(): Uint8Array<ArrayBuffer> {
  if (nextNonce === nonces.length) {
    nonces = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(NONCE_BYTES * NONCES_PER_DRAW)));
    nextNonce = 0;
  }
  nextNonce += NONCE_BYTES;
  return nonces.subarray(nextNonce - NONCE_BYTES, nextNonce);
}

export async function encryptPage(plaintext: Uint8Array, address: PageAddress, dataKey: DataKey): Promise<Uint8Array> {
  if (plaintext.length !== PAGE_BYTES) throw new EnvelopeError(`a page is ${PAGE_BYTES} bytes, not ${plaintext.length}`);
  const nonce = freshNonce();
  const aad = additionalData(address, dataKey.id);
  const envelope = new Uint8Array(ENVELOPE_BYTES);
  envelope[0] = ENVELOPE_VERSION;
  envelope.set(dataKey.id, 1);
  envelope.set(nonce, 1 + KEY_ID_BYTES);
  if (nodeCrypto) {
    const cipher = nodeCrypto.createCipheriv('aes-256-gcm', keyObject(nodeCrypto, dataKey.key), nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    envelope.set(cipher.update(plaintext), HEADER_BYTES);
    cipher.final();
    envelope.set(cipher.getAuthTag(), HEADER_BYTES + PAGE_BYTES);
    return envelope;
  }
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
    dataKey.key,
    plaintext as Uint8Array<ArrayBuffer>,
  );
  envelope.set(new Uint8Array(sealed), HEADER_BYTES);
  return envelope;
}

/** The id of the data key an envelope was sealed with (to fetch and unwrap it). */
export function envelopeKeyId(envelope: Uint8Array): Uint8Array {
  if (envelope.length !== ENVELOPE_BYTES || envelope[0] !== ENVELOPE_VERSION) throw new EnvelopeError(`not a version-1 envelope of ${ENVELOPE_BYTES} bytes`);
  return envelope.slice(1, 1 + KEY_ID_BYTES);
}

/** Decrypts and authenticates; throws EnvelopeError if the page was altered, moved or sealed under another key. */
export async function decryptPage(envelope: Uint8Array, address: PageAddress, dataKey: DataKey): Promise<Uint8Array> {
  const keyId = envelopeKeyId(envelope);
  if (!equalBytes(keyId, dataKey.id)) throw new EnvelopeError(`sealed under data key ${hexOf(keyId)}, not ${hexOf(dataKey.id)}`);
  const nonce = envelope.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
  const aad = additionalData(address, keyId);
  try {
    if (nodeCrypto) {
      const decipher = nodeCrypto.createDecipheriv('aes-256-gcm', keyObject(nodeCrypto, dataKey.key), nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(envelope.subarray(HEADER_BYTES + PAGE_BYTES));
      // The cipher's own output, as a plain Uint8Array over it: no second page allocated and copied.
      const opened = decipher.update(envelope.subarray(HEADER_BYTES, HEADER_BYTES + PAGE_BYTES));
      decipher.final(); // throws when the tag does not authenticate
      return new Uint8Array(opened.buffer, opened.byteOffset, opened.byteLength);
    }
    const opened = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonce.slice(), additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
      dataKey.key,
      envelope.slice(HEADER_BYTES),
    );
    return new Uint8Array(opened);
  } catch {
    const { tenant, resource, space, index } = address;
    throw new EnvelopeError(`${space} page ${index} of ${resource} (${tenant}) does not authenticate: altered, moved from elsewhere, or not ours`);
  }
}
