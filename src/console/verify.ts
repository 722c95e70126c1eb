/**
 * Verifying a log in the browser with the SDK's own verifier
 * (sdk/audit-verify.ts): the same checks as `custodes audit verify`. Its
 * bulk work, one Ed25519 signature per record, runs on WebCrypto here
 * (`webCryptoRecords`), in parallel; the tree and the few note signatures run
 * on the bundled SHA-256 and Ed25519 (node-crypto.ts). The checkpoint it
 * accepted is kept in localStorage — a checkpoint, never a key — so the next
 * run checks the log still extends it.
 */
import { leafHash } from '../audit/format/merkle';
import { verifyAuditLog, type RecordChecker, type VerifierState, type VerifyResult } from '../sdk/audit-verify';
import { logOf, logSource } from './log';
import type { Session } from './session';

const fromB64url = (s: string): Uint8Array<ArrayBuffer> => {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
};

/** The verifier's record check, with each signature verified by WebCrypto (Ed25519), all in flight at once. */
export const webCryptoRecords: RecordChecker = async (jwsList, { log, jwks, offset = 0 }) => {
  const keys = new Map<string, Promise<CryptoKey>>();
  for (const jwk of jwks ?? []) {
    if (jwk.kid && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) keys.set(jwk.kid, crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, ['verify']));
  }
  const leaves: Uint8Array[] = [];
  let claimError: string | null = null;
  const checks: Promise<boolean>[] = [];
  const encoder = new TextEncoder();
  jwsList.forEach((jws, i) => {
    const position = offset + i;
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const bytes = fromB64url(payload);
    leaves.push(leafHash(bytes));
    if (claimError === null) {
      try {
        const claims = JSON.parse(new TextDecoder().decode(bytes)) as { log?: unknown; index?: unknown };
        if (claims.log !== log || claims.index !== position) claimError = `record ${position}: it says it is record ${String(claims.index)} of ${String(claims.log)} (moved or reordered)`;
      } catch {
        claimError = `record ${position}: the JWS payload is not JSON`;
      }
    }
    if (jwks) {
      let kid: string | undefined;
      try {
        kid = (JSON.parse(new TextDecoder().decode(fromB64url(header))) as { kid?: string }).kid;
      } catch {
        kid = undefined;
      }
      const key = kid ? keys.get(kid) : undefined;
      checks.push(key ? key.then((k) => crypto.subtle.verify('Ed25519', k, fromB64url(signature), encoder.encode(`${header}.${payload}`))).catch(() => false) : Promise.resolve(false));
    }
  });
  const verdicts = await Promise.all(checks);
  const badSignatures = verdicts.flatMap((ok, i) => (ok ? [] : [offset + i]));
  return { leaves, claimError, badSignatures };
};

const stateKey = (log: string) => `custodes-console:checkpoint:${log}`;

export interface BrowserVerification {
  result: VerifyResult;
  records: number;
  ms: number;
  /** The size of the checkpoint saved last time in this browser, if any. */
  extends: number | null;
}

export async function verifyInBrowser(session: Session, log = logOf(session)): Promise<BrowserVerification> {
  const saved = localStorage.getItem(stateKey(log));
  const state = saved ? (JSON.parse(saved) as VerifierState) : undefined;
  const started = performance.now();
  const result = await verifyAuditLog(logSource(session, log), { log, state, checkRecords: webCryptoRecords });
  const ms = performance.now() - started;
  if (result.ok) localStorage.setItem(stateKey(log), JSON.stringify(result.state));
  return { result, records: result.ok ? result.size : 0, ms, extends: result.ok ? result.previousSize : null };
}
