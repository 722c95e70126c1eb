/**
 * Who the console acts as, and its key. The private JWK is read from a file
 * the user picks, imported at once as a NON-extractable WebCrypto key, and
 * the JWK object dropped: the page keeps only the CryptoKey and the public
 * members. Nothing writes a key to localStorage; "remember" stores the
 * CryptoKey itself in IndexedDB, where the browser keeps it unexportable.
 * The page calls the API through the SDK's typed client (sdk/client.ts),
 * which signs each request's single-use token with that key, follows a moved
 * emulator clock, and raises every failure as the problem the server answered.
 */
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { createApiClient, type ApiClient } from '../sdk/client';

export type Role = 'admin' | 'tenant' | 'toolstack';

export interface Session {
  principal: string;
  role: Role;
  /** The tenant the console looks at (the owner's own id; a toolstack's tenant). */
  tenant: string | null;
  kid: string;
  /** Public members only. */
  publicJwk: JWK;
  /** The API, as this principal: the SDK's typed client over the page's own origin. */
  api: ApiClient;
}

interface Stored {
  principal: string;
  tenant: string | null;
  scopes: string[];
  kid: string;
  publicJwk: JWK;
  key: CryptoKey;
  alg: 'EdDSA' | 'ES256';
}

const roleOf = (principal: string): Role => (principal.startsWith('adm_') ? 'admin' : principal.startsWith('tsk_') ? 'toolstack' : 'tenant');

function sessionOf(stored: Stored): Session {
  const { principal, tenant, scopes, kid, publicJwk, key, alg } = stored;
  return {
    principal,
    role: roleOf(principal),
    tenant: roleOf(principal) === 'tenant' ? principal : tenant,
    kid,
    publicJwk,
    // Short-lived tokens, as the page's own: two minutes each.
    api: createApiClient({ baseUrl: location.origin, key: { cryptoKey: key, kid, alg }, principal, scope: scopes, ttlSeconds: 120 }),
  };
}

/** Imports a private JWK (the file's text) for `principal`; the JWK itself is not kept. */
export async function loadKey(fileText: string, principal: string, tenant: string | null, scopes: string[], remember: boolean): Promise<Session> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(fileText) as JWK;
  } catch {
    throw new Error('The file is not a JSON Web Key.');
  }
  if (!jwk.d) throw new Error('The file holds no private key (no "d" member): load the private JWK you sign with.');
  const alg = jwk.kty === 'EC' ? 'ES256' : 'EdDSA';
  const publicJwk: JWK = jwk.kty === 'EC' ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  const key = (await importJWK(jwk, alg, { extractable: false })) as CryptoKey;
  const stored: Stored = { principal, tenant, scopes, kid: await calculateJwkThumbprint(publicJwk, 'sha256'), publicJwk, key, alg };
  if (remember) await idb('readwrite', (store) => store.put(stored, 'session'));
  return sessionOf(stored);
}

/** The session remembered in this browser, if any. */
export async function rememberedSession(): Promise<Session | null> {
  const stored = await idb<Stored | undefined>('readonly', (store) => store.get('session'));
  return stored ? sessionOf(stored) : null;
}

export const forgetSession = (): Promise<unknown> => idb('readwrite', (store) => store.delete('session'));

function idb<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('custodes-console', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const request = run(open.result.transaction('keys', mode).objectStore('keys'));
      request.onsuccess = () => resolve(request.result as T);
      request.onerror = () => reject(request.error);
    };
  });
}
