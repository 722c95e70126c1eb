/**
 * Principal keys on the client side. Private keys stay in files the user owns;
 * only public JWKs and their RFC 7638 thumbprints ever go to the API.
 */
import type * as NodeCrypto from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { base64urlOf, utf8 } from '../lib/bytes.ts';
import { nodeCrypto } from './native-crypto.ts';

export type SigningAlgorithm = 'EdDSA' | 'ES256';

export async function generatePrincipalKey(alg: SigningAlgorithm = 'EdDSA'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : 'P-256', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await keyId(jwk), alg };
}

/** The public members of a JWK (drops `d` and metadata). */
export function publicKeyOf(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return y === undefined ? { kty, crv, x } : { kty, crv, x, y };
}

/** RFC 7638 thumbprint of the public key: the `kid` the API knows the key by. */
export const keyId = (jwk: JWK): Promise<string> => calculateJwkThumbprint(publicKeyOf(jwk), 'sha256');

export const algorithmOf = (jwk: JWK): SigningAlgorithm => (jwk.kty === 'EC' ? 'ES256' : 'EdDSA');

/**
 * A private key already imported, never to be exported again: a browser's
 * non-extractable WebCrypto key (the console), with the kid and algorithm it
 * signs as.
 */
export interface ImportedSigningKey {
  cryptoKey: CryptoKey;
  kid: string;
  alg: SigningAlgorithm;
}

/** What a token is signed with: the principal's private JWK, or its imported key. */
export type PrincipalKey = JWK | ImportedSigningKey;

const isImported = (key: PrincipalKey): key is ImportedSigningKey => 'cryptoKey' in key;

export interface TokenRequest {
  /** The principal's private key. */
  key: PrincipalKey;
  /** Principal id: `adm_…`, `ten_…` or `tsk_…`. */
  principal: string;
  audience?: string;
  scope?: readonly string[];
  vms?: readonly string[];
  /** Seconds; the API refuses more than 900. */
  ttlSeconds?: number;
  /** The client session (`sid` claim) this token belongs to. */
  session?: string;
  /** Milliseconds since the epoch on the server's clock (default `Date.now`): an emulator's clock may run ahead. */
  clock?: () => number;
}

/** Each private JWK imported once, with its kid: a client mints a token per request. */
const signers = new WeakMap<JWK, Promise<{ kid: string; key: CryptoKey | Uint8Array }>>();
function signerOf(jwk: JWK, alg: SigningAlgorithm) {
  let signer = signers.get(jwk);
  if (!signer) {
    signer = Promise.all([keyId(jwk), importJWK(jwk, alg)]).then(([kid, key]) => ({ kid, key }));
    signers.set(jwk, signer);
  }
  return signer;
}

/**
 * Each private JWK as a node:crypto KeyObject, on Node: a token signed there in one synchronous call
 * instead of WebCrypto's job and promise (~0.35 ms a token on this machine, the largest single cost
 * of a small request's client side; issue 34).
 */
const nodeSigners = new WeakMap<JWK, Promise<{ kid: string; key: NodeCrypto.KeyObject }>>();
function nodeSignerOf(crypto: typeof NodeCrypto, jwk: JWK) {
  let signer = nodeSigners.get(jwk);
  if (!signer) {
    signer = keyId(jwk).then((kid) => ({ kid, key: crypto.createPrivateKey({ key: jwk as NodeCrypto.JsonWebKey, format: 'jwk' }) }));
    nodeSigners.set(jwk, signer);
  }
  return signer;
}

const base64urlJson = (value: unknown): string => base64urlOf(utf8(JSON.stringify(value)));

/** A single-use token (fresh `jti`): mint one per request. */
export async function mintToken(request: TokenRequest): Promise<string> {
  const { key, principal, audience = 'custodes', scope = [], vms, ttlSeconds = 300, session, clock = Date.now } = request;
  const alg = isImported(key) ? key.alg : algorithmOf(key);
  const now = Math.floor(clock() / 1000);
  const claims = {
    scope: scope.join(' '),
    ...(vms?.length ? { vms } : {}),
    ...(session ? { sid: session } : {}),
    iss: principal,
    sub: principal,
    aud: audience,
    iat: now,
    exp: now + ttlSeconds,
    jti: crypto.randomUUID(),
  };
  if (nodeCrypto && !isImported(key)) {
    // The compact JWS (RFC 7515 §7.1) jose would make, signed by node:crypto: EdDSA over the input, ES256 as r‖s (RFC 7518 §3.4).
    const signer = await nodeSignerOf(nodeCrypto, key);
    const input = `${base64urlJson({ alg, kid: signer.kid, typ: 'JWT' })}.${base64urlJson(claims)}`;
    const signature =
      alg === 'EdDSA'
        ? nodeCrypto.sign(null, Buffer.from(input), signer.key)
        : nodeCrypto.sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${base64urlOf(signature)}`;
  }
  const signer = isImported(key) ? { kid: key.kid, key: key.cryptoKey } : await signerOf(key, alg);
  return new SignJWT(claims).setProtectedHeader({ alg, kid: signer.kid, typ: 'JWT' }).sign(signer.key);
}
