/**
 * `node:crypto` for the browser bundle — only what the shared verifier
 * modules call (sdk/audit-verify.ts, audit/format/merkle.ts, note.ts,
 * cosignature.ts): synchronous SHA-256 and Ed25519 verification, from the
 * audited @noble libraries. The console's bulk work (each record's
 * signature) goes through WebCrypto instead (verify.ts); this serves the
 * tree hashing and the few note signatures, which the verifier needs
 * synchronously. The build aliases `node:crypto` here (scripts/build-console.js).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64Of, base64urlOf, base64urlToBytes, hexOf, utf8 } from '../lib/bytes';

const bytes = (data: string | Uint8Array): Uint8Array => (typeof data === 'string' ? utf8(data) : data);

const ENCODERS = { hex: hexOf, base64: base64Of, base64url: base64urlOf } as const;

export function createHash(algorithm: string) {
  if (algorithm !== 'sha256') throw new Error(`the console hashes SHA-256 only, not ${algorithm}`);
  const hash = sha256.create();
  return {
    update(data: string | Uint8Array) {
      hash.update(bytes(data));
      return this;
    },
    digest(encoding?: keyof typeof ENCODERS) {
      const out = hash.digest();
      return encoding ? ENCODERS[encoding](out) : out;
    },
  };
}

export interface KeyObject {
  raw: Uint8Array;
}

export function createPublicKey({ key }: { key: { kty: string; crv: string; x: string }; format: 'jwk' }): KeyObject {
  if (key.kty !== 'OKP' || key.crv !== 'Ed25519') throw new Error('the console verifies Ed25519 keys only');
  return { raw: base64urlToBytes(key.x) };
}

export function verify(_algorithm: null, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, data, key.raw, { zip215: false });
  } catch {
    return false;
  }
}
