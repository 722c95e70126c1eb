/**
 * Verification of self-signed principal tokens (docs/design.md §2), following the JWT
 * BCP, RFC 8725:
 *  - §3.1  the algorithm comes from an allowlist (EdDSA, ES256), never from the
 *          token alone: `none` and every HMAC are refused before any key is used,
 *          which also defeats the "HS256 signed with the public key" confusion;
 *  - §3.1  the key's own type must match that algorithm (Ed25519 ↔ EdDSA, P-256 ↔ ES256);
 *  - §3.9  `aud` must name this API;
 *  - §3.10 `jti` is single-use while the token lives (replay defence);
 * and docs/design.md §2: `iss` = `sub` = the key's principal, `exp` required, lifetime ≤ 15 min.
 *
 * The function is free of HTTP and of storage: key lookup and jti bookkeeping
 * are passed in, so the whole rejection matrix is unit-testable.
 */
import { decodeProtectedHeader, errors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { CLAIM_ID, MAX_SCOPE_CHARS, MAX_TOKEN_CHARS, MAX_TOKEN_VMS } from '../platform/http/limits';
import { fail, ok, type Result } from '../lib/result';
import type { Principal, RegisteredKey } from './principals';
import { nowSeconds } from '../platform/clock';

export const ALLOWED_ALGORITHMS = ['EdDSA', 'ES256'] as const;
type AllowedAlgorithm = (typeof ALLOWED_ALGORITHMS)[number];

export const MAX_TOKEN_LIFETIME_SECONDS = 15 * 60;

const VM_ID = /^vm_[0-9A-Z]{26}$/;

export type TokenProblem =
  | 'token_malformed'
  | 'token_algorithm_not_allowed'
  | 'token_key_unknown'
  | 'token_signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_lifetime_too_long'
  | 'token_audience_invalid'
  | 'token_claims_invalid'
  | 'token_scope_exceeds_ceiling'
  | 'token_replayed'
  | 'token_too_large';

export interface VerifyTokenOptions {
  audience: string;
  lookupKey: (kid: string) => Promise<RegisteredKey | null>;
  /**
   * Records `jti` as used until `expiresAt`; false when it was already used.
   * Omitted when the caller consumes the jti later, atomically with the
   * request's audit record (auth/middleware.ts).
   */
  claimJti?: (principalId: string, jti: string, expiresAt: number) => Promise<boolean>;
  /** Seconds since the epoch; injectable for tests. */
  now?: number;
  /** Tolerated clock skew for `exp`, `nbf` and `iat`. */
  clockToleranceSeconds?: number;
}

const keyCache = new Map<string, CryptoKey>();
const KEY_CACHE_LIMIT = 1024;

/** Imported keys are cached by thumbprint: the kid names the key's content, so it cannot go stale. */
async function importVerificationKey(registered: RegisteredKey, alg: AllowedAlgorithm): Promise<CryptoKey | null> {
  const cacheKey = `${alg}:${registered.kid}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  if (expectedAlgorithm(registered.jwk) !== alg) return null;
  const key = (await importJWK(registered.jwk, alg)) as CryptoKey;
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, key);
  return key;
}

export function expectedAlgorithm(jwk: JWK): AllowedAlgorithm | null {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return null;
}

export async function verifyPrincipalToken(token: string, options: VerifyTokenOptions): Promise<Result<Principal, TokenProblem>> {
  const { audience, lookupKey, claimJti, now = nowSeconds(), clockToleranceSeconds = 30 } = options;

  // Bounded before anything is decoded: a token's claims end up in signed records (platform/http/limits.ts).
  if (token.length > MAX_TOKEN_CHARS)
    return fail('token_too_large', `Bearer tokens are limited to ${MAX_TOKEN_CHARS} characters; this one has ${token.length}.`);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    if (token.split('.').length !== 3) throw new Error('not three segments');
    header = decodeProtectedHeader(token);
  } catch {
    return fail('token_malformed', 'The bearer token is not a compact JWS (RFC 7515 §7.1).');
  }
  const alg = header.alg;
  if (!ALLOWED_ALGORITHMS.includes(alg as AllowedAlgorithm)) {
    return fail('token_algorithm_not_allowed', `Algorithm ${JSON.stringify(alg ?? null)} is not allowed; use EdDSA or ES256.`);
  }
  // RFC 8725 §3.10 / RFC 7515 §4.1: keys come from our registry alone, never from the token.
  const foreign = ['jwk', 'jku', 'x5u', 'x5c', 'crit'].filter((name) => name in header);
  if (foreign.length > 0) return fail('token_malformed', `The JWS header may not carry ${foreign.join(', ')}: keys come from the registry, by kid.`);
  if (typeof header.kid !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(header.kid)) {
    return fail('token_malformed', 'The JWS header must carry the kid of a registered key.');
  }
  const registered = await lookupKey(header.kid);
  if (!registered) return fail('token_key_unknown', `No active principal has key id ${header.kid}.`);
  const key = await importVerificationKey(registered, alg as AllowedAlgorithm);
  if (!key) return fail('token_algorithm_not_allowed', `Key ${header.kid} cannot be used with ${alg}.`);

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [alg as AllowedAlgorithm],
      audience,
      requiredClaims: ['iss', 'sub', 'exp', 'iat', 'jti'],
      clockTolerance: clockToleranceSeconds,
      currentDate: new Date(now * 1000),
    }));
  } catch (error) {
    return joseFailure(error);
  }

  const { iss, sub, exp, iat, jti } = payload as Required<Pick<JWTPayload, 'iss' | 'sub' | 'exp' | 'iat' | 'jti'>>;
  if (iss !== registered.id || sub !== registered.id) {
    return fail('token_claims_invalid', `iss and sub must both be ${registered.id}, the owner of key ${registered.kid}.`);
  }
  if (iat > now + clockToleranceSeconds) return fail('token_not_yet_valid', 'The token was issued in the future (iat).');
  if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) {
    return fail('token_lifetime_too_long', `exp - iat is ${exp - iat} s; the maximum is ${MAX_TOKEN_LIFETIME_SECONDS} s.`);
  }
  const scope = payload.scope ?? '';
  const vms = payload.vms;
  const sid = payload.sid;
  if (typeof jti !== 'string' || !CLAIM_ID.test(jti)) return fail('token_claims_invalid', 'jti must be 1–128 characters of A–Z a–z 0–9 . _ ~ : -.');
  if (sid !== undefined && !(typeof sid === 'string' && CLAIM_ID.test(sid))) {
    return fail('token_claims_invalid', 'sid, when present, must be 1–128 characters of A–Z a–z 0–9 . _ ~ : - naming the client session.');
  }
  if (typeof scope !== 'string' || scope.length > MAX_SCOPE_CHARS)
    return fail('token_claims_invalid', `scope must be a space-separated string of at most ${MAX_SCOPE_CHARS} characters.`);
  if (vms !== undefined && !(Array.isArray(vms) && vms.length <= MAX_TOKEN_VMS && vms.every((v) => typeof v === 'string' && VM_ID.test(v)))) {
    return fail('token_claims_invalid', `vms, when present, must be an array of at most ${MAX_TOKEN_VMS} VM ids.`);
  }
  const scopes = scope.split(' ').filter(Boolean);
  if (registered.ceiling) {
    const beyond = scopes.filter((s) => !registered.ceiling!.scopes.includes(s));
    if (beyond.length > 0) {
      return fail(
        'token_scope_exceeds_ceiling',
        `Toolstack ${registered.id} may not ask for ${beyond.join(', ')}; its ceiling is "${registered.ceiling.scopes.join(' ')}".`,
      );
    }
    const allowedVms = registered.ceiling.vms;
    const outside = allowedVms && vms ? (vms as string[]).filter((vm) => !allowedVms.includes(vm)) : [];
    if (outside.length > 0)
      return fail('token_scope_exceeds_ceiling', `Toolstack ${registered.id} is limited to VMs ${allowedVms!.join(', ')}; not ${outside.join(', ')}.`);
  }
  if (claimJti && !(await claimJti(registered.id, jti, exp))) {
    return fail('token_replayed', `Token ${jti} was already used; mint a new token for every request.`);
  }
  return ok({
    ...registered,
    jti,
    ...(sid ? { sid } : {}),
    scopes,
    // A toolstack limited to some VMs is limited to them whether or not its token says so.
    ...(vms ? { vms: vms as string[] } : registered.ceiling?.vms ? { vms: registered.ceiling.vms } : {}),
    expiresAt: exp,
  });
}

function joseFailure(error: unknown): { ok: false; error: { code: TokenProblem; detail: string } } {
  if (error instanceof errors.JWTExpired) return fail('token_expired', 'The token has expired (exp); mint a new one.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return fail('token_not_yet_valid', 'The token is not valid yet (nbf).');
    if (error.claim === 'aud') return fail('token_audience_invalid', 'The token audience (aud) does not name this API.');
    return fail('token_claims_invalid', `Claim ${error.claim}: ${error.reason}.`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return fail('token_signature_invalid', 'The token signature does not verify against the registered key.');
  }
  if (error instanceof errors.JOSEError) return fail('token_malformed', error.message);
  throw error;
}
