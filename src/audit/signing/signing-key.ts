/**
 * The audit signing key (env `AUDIT_SIGNING_JWK`, a private Ed25519 JWK). It
 * signs every record (compact JWS, EdDSA) and every checkpoint (C2SP note).
 * Its public half is published at /.well-known/jwks.json (kid = RFC 7638
 * thumbprint) and as a note verifier key at /v1/audit/log-key.
 */
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { noteKeyId, verifierKey } from '../format/note';
import { base64urlToBytes } from '../../lib/bytes';

/** The name checkpoints are signed under (the `— <name>` of the note). */
export const NOTE_KEY_NAME = 'custodes-audit';

export interface AuditSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  noteKeyId: Uint8Array;
  vkey: string;
}

const cache = new Map<string, Promise<AuditSigningKey>>();

export function auditSigningKey(privateJwk: string | undefined): Promise<AuditSigningKey> {
  if (!privateJwk) throw new Error('AUDIT_SIGNING_JWK is not set: `npm start` writes one to .dev.vars');
  let key = cache.get(privateJwk);
  if (!key) {
    key = load(JSON.parse(privateJwk) as JWK);
    cache.set(privateJwk, key);
  }
  return key;
}

async function load(jwk: JWK): Promise<AuditSigningKey> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error('AUDIT_SIGNING_JWK must be a private Ed25519 JWK');
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const publicKey = base64urlToBytes(jwk.x);
  return {
    kid,
    privateKey: (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey,
    publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' },
    publicKey,
    noteKeyId: noteKeyId(NOTE_KEY_NAME, publicKey),
    vkey: verifierKey(NOTE_KEY_NAME, publicKey),
  };
}

export async function signBytes(key: AuditSigningKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('Ed25519', key.privateKey, data as Uint8Array<ArrayBuffer>));
}
