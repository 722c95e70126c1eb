/**
 * Verifying a log in the browser with the SDK's own verifier
 * (sdk/audit-verify.ts): the same checks as `custodes audit verify`. Its
 * bulk work, one Ed25519 signature per record, runs on WebCrypto here
 * (`webCryptoRecords`), in parallel; the tree and the few note signatures run
 * on the bundled SHA-256 and Ed25519 (node-crypto.ts). The checkpoint it
 * accepted is kept in localStorage — a checkpoint, never a key — so the next
 * run checks the log still extends it.
 */
import { leavesAndClaims, verifyAuditLog, type RecordChecker, type VerifierState, type VerifyResult } from '../sdk/audit-verify';
import { logOf, logSource } from './log';
import type { Session } from './session';
import { base64urlToBytes, fromUtf8 } from '../lib/bytes';

const bytesOf = (b64url: string): Uint8Array<ArrayBuffer> => base64urlToBytes(b64url) as Uint8Array<ArrayBuffer>;

/** The verifier's record check (leaves and claims: the SDK's own), with each signature verified by WebCrypto (Ed25519), all in flight at once. */
export const webCryptoRecords: RecordChecker = async (jwsList, { log, jwks, offset = 0 }) => {
  const keys = new Map<string, Promise<CryptoKey>>();
  for (const jwk of jwks ?? []) {
    if (jwk.kid && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x)
      keys.set(jwk.kid, crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, ['verify']));
  }
  const encoder = new TextEncoder();
  const verdicts = jwks
    ? await Promise.all(
        jwsList.map((jws) => {
          const [header, payload, signature] = jws.split('.') as [string, string, string];
          let kid: string | undefined;
          try {
            kid = (JSON.parse(fromUtf8(base64urlToBytes(header))) as { kid?: string }).kid;
          } catch {
            kid = undefined;
          }
          const key = kid ? keys.get(kid) : undefined;
          return key
            ? key.then((k) => crypto.subtle.verify('Ed25519', k, bytesOf(signature), encoder.encode(`${header}.${payload}`))).catch(() => false)
            : false;
        }),
      )
    : [];
  return { ...leavesAndClaims(jwsList, log, offset), badSignatures: verdicts.flatMap((ok, i) => (ok ? [] : [offset + i])) };
};

const stateKey = (log: string) => `custodes-console:checkpoint:${log}`;

export interface BrowserVerification {
  result: VerifyResult;
  records: number;
  ms: number;
  /** The size of the checkpoint saved last time in this browser, if any. */
  extends: number | null;
  /** The records the verifier checked, up to the checkpoint it accepted (none when it failed). */
  verified: { index: number; jws: string }[];
}

export async function verifyInBrowser(session: Session, log = logOf(session)): Promise<BrowserVerification> {
  const saved = localStorage.getItem(stateKey(log));
  const state = saved ? (JSON.parse(saved) as VerifierState) : undefined;
  const started = performance.now();
  const source = logSource(session, log);
  // Keep the records as the verifier pages through them: what it accepted is what a caller may rely on.
  const seen: { index: number; jws: string }[] = [];
  const records: typeof source.records = async (from, limit) => {
    const page = await source.records(from, limit);
    // Pages may arrive in any order (the verifier asks for several at once): each record in its place.
    for (const r of page.records) seen[r.index] = r;
    return page;
  };
  const result = await verifyAuditLog({ ...source, records }, { log, state, checkRecords: webCryptoRecords });
  const ms = performance.now() - started;
  if (result.ok) localStorage.setItem(stateKey(log), JSON.stringify(result.state));
  return {
    result,
    records: result.ok ? result.size : 0,
    ms,
    extends: result.ok ? result.previousSize : null,
    verified: result.ok ? seen.sort((a, b) => a.index - b.index).slice(0, result.size) : [],
  };
}
