/**
 * Every byte checked against the signed log (issue 30). A provider that
 * edits its own store can hand a reader any envelope it holds — an older
 * version's ciphertext under the current version number decrypts fine, since
 * the envelope's additional data binds the page but not the version
 * (docs/design.md §4). So before anything is decrypted, the SHA-256 of each envelope
 * received must equal the digest its version has in
 *  - the read's own record, committed before the answer and served with it,
 *    which names every version served (so a page it names but the answer
 *    leaves out was withheld), and
 *  - the record that wrote that version, also served with the answer.
 * Both are JWS by the audit key: editing the envelope, the digest column, the
 * head, or all three, contradicts a record the store's editor cannot sign.
 * A newer version withheld behind a consistent older one (a rolled-back head)
 * is what `verifyFresh` catches, against the newest write in the verified log.
 */
import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import type { AuditRecord } from '../audit/format/record.ts';
import { jwsPayload } from '../audit/format/jws.ts';
import { verifyJws } from './audit-verify.ts';

import type { ReadEvidence } from '../audit/format/evidence.ts';

export type { ReadEvidence, SignedRecord } from '../audit/format/evidence.ts';

export interface ServedPage {
  index: number;
  version: number;
  /** What the provider says the digest is: never trusted, the SHA-256 of `envelope` is what is checked. */
  digest: string;
  envelope: Uint8Array;
}

/** The provider served bytes the signed log contradicts: nothing of the answer may be trusted or decrypted. */
export class ProviderMisbehaviourError extends Error {
  constructor(
    readonly page: number | null,
    readonly version: number | null,
    /** The digest the signed log names, when it names one. */
    readonly expected: string | null,
    /** The SHA-256 of the bytes served (or what the provider claimed). */
    readonly served: string | null,
    readonly why: string,
  ) {
    super(
      `provider misbehaviour${page === null ? '' : ` on page ${page}${version === null ? '' : ` version ${version}`}`}: ${why}${expected || served ? ` (signed log: ${expected ?? 'none'}; served: ${served ?? 'none'})` : ''}`,
    );
    this.name = 'ProviderMisbehaviourError';
  }
}

/** `sha256:` + hex of an envelope's bytes, as records name them. */
export const envelopeDigest = (envelope: Uint8Array): string => `sha256:${createHash('sha256').update(envelope).digest('hex')}`;

export interface EvidenceContext {
  /** The tenant's log, `tenants/{tenant}`. */
  log: string;
  space: 'memory' | 'disk';
  resource: string;
  /** Verifies a record's signature (the audit keys the caller trusts). */
  verify: (jws: string) => boolean | Promise<boolean>;
  /** The `jti` of the token the read was sent with: its record must name it (no other read's record replayed). */
  jti?: string | null;
}

/**
 * Checks `pages` against `evidence`; throws `ProviderMisbehaviourError` at
 * the first contradiction. Answers nothing: a page that passes is exactly the
 * bytes the signed log says were written as that version.
 */
export async function checkReadEvidence(pages: readonly ServedPage[], evidence: ReadEvidence | undefined, context: EvidenceContext): Promise<void> {
  const [first] = await readEvidenceFindings(pages, evidence, context);
  if (first) throw first;
}

/**
 * Every contradiction between `pages` and `evidence`, in page order (none:
 * the answer is what the signed log says). A record that does not verify, or
 * is not this read's, is the only finding: nothing it says can be used. The
 * console lists them all; readers stop at the first (`checkReadEvidence`).
 */
export async function readEvidenceFindings(
  pages: readonly ServedPage[],
  evidence: ReadEvidence | undefined,
  context: EvidenceContext,
): Promise<ProviderMisbehaviourError[]> {
  const { log, space, resource } = context;
  const unusable = (why: string) => [new ProviderMisbehaviourError(null, null, null, null, why)];
  if (!evidence?.read?.jws) return unusable('the answer carries no signed record of the read');
  if (!(await context.verify(evidence.read.jws))) return unusable(`the read's record (index ${evidence.read.index}) does not verify under the audit keys`);
  const read = jwsPayload<AuditRecord>(evidence.read.jws);
  if (read.log !== log || read.index !== evidence.read.index || read.outcome !== 'allowed') {
    return unusable(`the record served as this read's is record ${read.index} of ${read.log} (${read.outcome}), not an allowed read of ${log}`);
  }
  if (context.jti && read.actor.jti !== context.jti) {
    return unusable(`the record served as this read's (index ${read.index}) is another request's (token ${read.actor.jti ?? 'none'}, not ${context.jti})`);
  }
  const named = new Map<number, { version: number; digest: string | null }>();
  for (const r of read.regions ?? [])
    if (r.access === 'read' && r.space === space && r.resource === resource) named.set(r.index, { version: r.version, digest: r.digest ?? null });

  // The versions those records wrote, by (index, version).
  const written = new Map<string, string | null>();
  for (const w of evidence.writes ?? []) {
    if (!(await context.verify(w.jws))) return unusable(`write record ${w.index} does not verify under the audit keys`);
    const record = jwsPayload<AuditRecord>(w.jws);
    if (record.log !== log || record.index !== w.index || record.outcome !== 'allowed' || record.index >= read.index) continue;
    for (const r of record.regions ?? [])
      if (r.access === 'write' && r.space === space && r.resource === resource) written.set(`${r.index}@${r.version}`, r.digest ?? null);
  }

  const findings: ProviderMisbehaviourError[] = [];
  const served = new Set<number>();
  for (const page of pages) {
    served.add(page.index);
    const actual = envelopeDigest(page.envelope);
    const finding = (expected: string | null, why: string) => findings.push(new ProviderMisbehaviourError(page.index, page.version, expected, actual, why));
    const inRead = named.get(page.index);
    if (!inRead || inRead.version !== page.version)
      finding(inRead ? `version ${inRead.version}` : null, "the read's own record does not name this version as read");
    else if (inRead.digest !== actual) finding(inRead.digest, "the bytes served are not the bytes the read's record names");
    else {
      const atWrite = written.get(`${page.index}@${page.version}`);
      if (atWrite === undefined) finding(null, 'no signed record wrote this version');
      else if (atWrite !== actual) finding(atWrite, 'the bytes served are not the bytes written as this version');
    }
  }
  for (const [index, { version, digest }] of named) {
    if (!served.has(index))
      findings.push(new ProviderMisbehaviourError(index, version, digest, null, "the read's record names this page as read, but the answer withheld it"));
  }
  return findings.sort((a, b) => (a.page ?? -1) - (b.page ?? -1));
}

/** A verifier over published keys (`/.well-known/jwks.json`), fetching them again once for a key it has not seen. */
export function recordVerifier(load: () => Promise<Map<string, KeyObject>>): (jws: string) => Promise<boolean> {
  let keys: Promise<Map<string, KeyObject>> | null = null;
  return async function verifyRecord(jws) {
    keys ??= load();
    if (verifyJws(jws, await keys)) return true;
    keys = load(); // a key activated since
    return verifyJws(jws, await keys);
  };
}
