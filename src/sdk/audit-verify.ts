/**
 * Offline verification of a Custodes audit log (docs/design.md §5): trust nothing but
 * the log's verifier key and the checkpoint saved last time.
 *
 *  1. the checkpoint is a C2SP note signed by the log key, for this log's origin;
 *  2. records 0…size−1 are all present, in order, each a JWS by a published
 *     audit key (optional, as it is the slow part) naming this log and index;
 *  3. their leaves hash to the checkpoint's root (RFC 9162);
 *  4. the saved checkpoint is a prefix of this one: same root over its first
 *     records, and the server's consistency proof verifies — so deletion,
 *     reordering, edits and rollback, even a log rebuilt and re-signed by
 *     the provider, are caught.
 *
 * Runs on Node (the CLI) and in workerd (the tests) alike: node:crypto only.
 */
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { equalHashes, FrontierBuilder, leafHash, verifyConsistency, verifyInclusion, type Hash } from '../audit/format/merkle.ts';
import { parseCheckpointBody, parseSignedNote, parseVerifierKey, signaturesBy, type Checkpoint, type VerifierKey } from '../audit/format/note.ts';
import { openCosignature, cosignedMessage, parseCosignerVkey } from '../audit/format/cosignature.ts';
import { parseHandoverBody, type KeyHandover } from '../audit/format/handover.ts';
import { base64urlOf, base64urlToBytes, fromUtf8, hexOf, hexToBytes, utf8 } from '../lib/bytes.ts';
import { inParallel } from '../lib/parallel.ts';

export interface PublicJwk {
  kid?: string;
  kty?: string;
  crv?: string;
  x?: string;
}

export interface AuditSource {
  logKey(): Promise<string>;
  jwks(): Promise<{ keys: PublicJwk[] }>;
  checkpoint(): Promise<string>;
  records(from: number, limit: number): Promise<{ records: { index: number; jws: string }[]; next?: number }>;
  /** Absent for offline bundles: the saved root is then checked by recomputation alone. */
  consistency?(from: number, to: number): Promise<{ proof: string[] }>;
  /** The audit key hand-overs (`GET /v1/audit/key-handovers`): how a pinned older key reaches the current one. */
  keyHandovers?(): Promise<{ handovers: KeyHandover[] }>;
  /** The newest checkpoint carrying at least `cosignatures` witness cosignatures (`…/audit/checkpoint/cosigned`). */
  cosignedCheckpoint?(cosignatures: number): Promise<string>;
}

export type { KeyHandover };

/** What a verifier keeps between runs: the last checkpoint it accepted. */
export interface VerifierState {
  log: string;
  vkey: string;
  checkpoint: string;
}

export interface VerifyOptions {
  /** `tenants/<id>` or `provider`. */
  log: string;
  state?: VerifierState;
  /** Pin the verifier key instead of taking the server's (the state's key is pinned too). */
  vkey?: string;
  /** Check every record's JWS signature (default true). */
  checkSignatures?: boolean;
  /** Checks the records' payloads and signatures; the CLI passes a multi-core one (parallel-verify.ts). */
  checkRecords?: RecordChecker;
  pageSize?: number;
  /** Witnesses' cosigner vkeys (C2SP tlog-cosignature): the checkpoint must carry `quorum` of their cosignatures. */
  witnesses?: string[];
  /** How many of `witnesses` must have cosigned (default 1 when witnesses are given). */
  quorum?: number;
}

/** What checking a run of records yields (records at positions 0…n−1 of `log`). */
export interface RecordCheck {
  /** Merkle leaf hash of each record's payload, in order. */
  leaves: Uint8Array[];
  /** The first payload that is not what its position says (another log or index, or not JSON). */
  claimError: string | null;
  /** Positions whose signature does not verify (empty when signatures are not checked). */
  badSignatures: number[];
  /**
   * Optional head start on the tree: hashes of the complete aligned level-`level`
   * subtrees over the first leaves, in order (a parallel checker hashes them on
   * every core), on the log's own grid: only for records from an index that is
   * a multiple of 2^level (a whole log, or a segment of one, verifyAuditLog).
   */
  subtrees?: { level: number; hashes: Hash[] };
}

/**
 * Checks records; `jwks` null means skip signatures. `offset` is the position of jws[0]. The verifier may call it
 * for the next records before the last call has settled (a checker on several threads overlaps them).
 */
export interface RecordChecker {
  (jws: string[], options: { log: string; jwks: PublicJwk[] | null; offset?: number }): Promise<RecordCheck>;
  /** Told how many records are coming as soon as the checkpoint says (before they are fetched): a checker with threads starts them now. */
  expect?(records: number): void;
}

export type VerifyResult =
  | {
      ok: true;
      checkpoint: Checkpoint;
      size: number;
      state: VerifierState;
      previousSize: number | null;
      /** Key hand-overs followed from the pinned key to the log's current one, oldest first. */
      handovers: { to: string; change: string; approvalIndex: number }[];
      /** The witnesses whose cosignatures on the checkpoint verified. */
      cosignedBy: string[];
    }
  | { ok: false; error: string };

/**
 * Each record's Merkle leaf, and the first record that is not where it says it
 * is (its payload must name `log` and its own position): the part of a record
 * check every checker shares, whatever verifies the signatures.
 */
export function leavesAndClaims(jwsList: readonly string[], log: string, offset = 0): Pick<RecordCheck, 'leaves' | 'claimError'> {
  const leaves: Uint8Array[] = [];
  let claimError: string | null = null;
  jwsList.forEach((jws, i) => {
    const position = offset + i;
    const payload = fromB64url(jws.slice(jws.indexOf('.') + 1, jws.lastIndexOf('.')));
    leaves.push(leafHash(payload));
    if (claimError === null) {
      let claims: { log?: unknown; index?: unknown } | null = null;
      try {
        claims = JSON.parse(fromUtf8(payload));
      } catch {
        claimError = `record ${position}: the JWS payload is not JSON`;
      }
      if (claims && (claims.log !== log || claims.index !== position)) {
        claimError = `record ${position}: it says it is record ${String(claims.index)} of ${String(claims.log)} (moved or reordered)`;
      }
    }
  });
  return { leaves, claimError };
}

/** The reference checker, on this thread. parallel-verify.ts does the same on every core. */
export const checkRecordsHere: RecordChecker = async (jwsList, { log, jwks, offset = 0 }) => {
  const keys = jwks ? keyMap({ keys: jwks }) : null;
  const badSignatures = keys ? jwsList.flatMap((jws, i) => (verifyJws(jws, keys) ? [] : [offset + i])) : [];
  return { ...leavesAndClaims(jwsList, log, offset), badSignatures };
};

const hex = hexOf;
const fromB64url = base64urlToBytes;
const ed25519Key = (raw: Uint8Array): KeyObject => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64urlOf(raw) }, format: 'jwk' });

/** Verifies a signed checkpoint note with `key`; returns the checkpoint or an error message. */
export function openCheckpoint(note: string, key: VerifierKey, origin: string): Checkpoint | string {
  let parsed: ReturnType<typeof parseSignedNote>;
  try {
    parsed = parseSignedNote(note);
  } catch (error) {
    return `the checkpoint is not a signed note: ${(error as Error).message}`;
  }
  const publicKey = ed25519Key(key.publicKey);
  const signed = signaturesBy(parsed, key).some((s) => verifySignature(null, utf8(parsed.body), publicKey, s.signature));
  if (!signed) return `the checkpoint is not signed by ${key.name} (bad or missing signature)`;
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpointBody(parsed.body);
  } catch (error) {
    return (error as Error).message;
  }
  if (checkpoint.origin !== origin) return `the checkpoint is for ${checkpoint.origin}, not ${origin}`;
  return checkpoint;
}

/** Verifies one compact JWS (EdDSA) against the keys by kid. */
export function verifyJws(jws: string, keys: Map<string, KeyObject>): boolean {
  const [header, payload, signature] = jws.split('.');
  if (!header || !payload || !signature) return false;
  let kid: unknown;
  try {
    const parsed = JSON.parse(fromUtf8(base64urlToBytes(header)));
    if (parsed.alg !== 'EdDSA') return false;
    kid = parsed.kid;
  } catch {
    return false;
  }
  const key = typeof kid === 'string' ? keys.get(kid) : undefined;
  // A compact JWS is ASCII, so latin1 encodes the signing input exactly (and faster than UTF-8).
  return !!key && verifySignature(null, utf8(`${header}.${payload}`), key, fromB64url(signature));
}

export function keyMap(jwks: Awaited<ReturnType<AuditSource['jwks']>>): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const jwk of jwks.keys) {
    if (jwk.kid && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) keys.set(jwk.kid, ed25519Key(fromB64url(jwk.x)));
  }
  return keys;
}

/**
 * Roots of the first `size` leaves for each of `sizes` (ascending), in one pass:
 * whole subtrees (the checker's precomputed ones, or else single leaves) on one
 * builder, and each prefix's ragged end on a copy of it.
 */
function prefixRoots({ leaves, subtrees }: RecordCheck, sizes: number[]): Hash[] {
  const { level, hashes } = subtrees ?? { level: 0, hashes: leaves };
  const span = 2 ** level;
  const tree = new FrontierBuilder();
  return sizes.map((size) => {
    while (tree.size / span < hashes.length && tree.size + span <= size) tree.pushSubtree(hashes[tree.size / span]!, level);
    const prefix = tree.copy();
    for (let i = prefix.size; i < size; i++) prefix.push(leaves[i]!);
    return prefix.root();
  });
}

const b64url = base64urlOf;

/** RFC 7638 thumbprint of an Ed25519 public key: the kid Custodes gives it. */
const ed25519Thumbprint = (raw: Uint8Array): string =>
  b64url(
    createHash('sha256')
      .update(`{"crv":"Ed25519","kty":"OKP","x":"${b64url(raw)}"}`)
      .digest(),
  );

/** Whether `note` carries a valid signature by `key` (a note key, 0x01). */
function signedBy(note: ReturnType<typeof parseSignedNote>, key: VerifierKey): boolean {
  const publicKey = ed25519Key(key.publicKey);
  return signaturesBy(note, key).some((s) => verifySignature(null, utf8(note.body), publicKey, s.signature));
}

/**
 * Follows the key hand-overs from `trusted` to `current` (audit/format/handover.ts).
 * Each step needs a hand-over signed by the key held so far and by its
 * successor, citing the `change.approve` record of that rotation — signed by
 * the key held so far and included in the hand-over's tree — so no key
 * reaches a verifier without two admins' approval on the record.
 */
export function followHandovers(
  trusted: string,
  current: string,
  handovers: readonly KeyHandover[],
): { ok: true; chain: { to: string; change: string; approvalIndex: number }[] } | { ok: false; error: string } {
  const chain: { to: string; change: string; approvalIndex: number }[] = [];
  let held = trusted;
  const refusals: string[] = [];
  while (held !== current) {
    if (chain.length > handovers.length) return { ok: false, error: 'the hand-overs loop' };
    const holder = parseVerifierKey(held);
    /** Notes why one hand-over is not taken; it then names no successor. */
    const refuse = (why: string): [] => {
      refusals.push(why);
      return [];
    };
    const next = handovers.flatMap((h) => {
      try {
        const note = parseSignedNote(h.note);
        if (!signedBy(note, holder)) return [];
        const claim = parseHandoverBody(note.body);
        if (typeof claim === 'string') return refuse(claim);
        const successor = parseVerifierKey(claim.to);
        if (!signedBy(note, successor)) return refuse(`the hand-over to ${claim.to} is not signed by that key`);
        // The approving record: signed by the holder, what it claims, and in the hand-over's tree.
        const [header, payload, signature] = h.approval.jws.split('.');
        if (!header || !payload || !signature || !verifySignature(null, utf8(`${header}.${payload}`), ed25519Key(holder.publicKey), fromB64url(signature))) {
          return refuse(`the approval cited by the hand-over to ${claim.to} is not signed by the key handing over`);
        }
        const record = JSON.parse(fromUtf8(base64urlToBytes(payload))) as {
          log?: string;
          index?: number;
          action?: string;
          outcome?: string;
          details?: { change?: string; operation?: string; target?: { id?: string } };
        };
        const cites =
          record.log === 'provider' &&
          record.index === claim.approvalIndex &&
          h.approval.index === claim.approvalIndex &&
          h.approval.size === claim.checkpoint.size &&
          record.action === 'change.approve' &&
          record.outcome === 'allowed' &&
          record.details?.change === claim.change &&
          record.details?.operation === 'audit.rotate' &&
          record.details?.target?.id === ed25519Thumbprint(successor.publicKey);
        if (!cites) return refuse(`the record cited by the hand-over to ${claim.to} is not the approval of that key`);
        const proof = h.approval.proof.map(hexToBytes);
        if (!verifyInclusion(leafHash(fromB64url(payload)), claim.approvalIndex, claim.checkpoint.size, proof, claim.checkpoint.root)) {
          return refuse(`the approval of ${claim.to} is not in the hand-over's tree`);
        }
        return [{ to: claim.to, change: claim.change, approvalIndex: claim.approvalIndex }];
      } catch (error) {
        return refuse((error as Error).message);
      }
    });
    if (next.length === 0) {
      const why = refusals.length > 0 ? `: ${refusals.join('; ')}` : '';
      return { ok: false, error: `the log key changed from ${held} to ${current} with no valid hand-over from ${held}${why}` };
    }
    chain.push(next[0]!);
    held = next[0]!.to;
  }
  return { ok: true, chain };
}

/** Record pages asked for at once: the server answers one while the next is on its way. */
const PAGES_IN_FLIGHT = 4;
/** Records handed to the checker at a time while later pages arrive: a multiple of 256, so the CLI's subtree roots line up. */
const SEGMENT = 2048;

type RecordsPage = Awaited<ReturnType<AuditSource['records']>>;

/**
 * The checks of consecutive segments as one: leaves and bad signatures in order, the first claim error. Subtree
 * roots when every segment but the last has them at one level over a whole number of subtrees (each segment's
 * then start where the one before ended, on the same grid); the last may have none (a small one checked here).
 */
function joinChecks(checks: RecordCheck[]): RecordCheck {
  const level = checks[0]?.subtrees?.level;
  const last = checks.length - 1;
  const aligned =
    level !== undefined &&
    checks.every((c, i) => (i === last ? (c.subtrees?.level ?? level) === level : c.subtrees?.level === level && c.leaves.length % 2 ** level === 0));
  return {
    leaves: checks.flatMap((c) => c.leaves),
    claimError: checks.find((c) => c.claimError)?.claimError ?? null,
    badSignatures: checks.flatMap((c) => c.badSignatures),
    ...(aligned ? { subtrees: { level, hashes: checks.flatMap((c) => c.subtrees?.hashes ?? []) } } : {}),
  };
}

/** The witnesses among `witnesses` (cosigner vkeys) whose cosignature on `note` verifies. */
export function cosignersOf(note: string, witnesses: readonly VerifierKey[]): string[] {
  const parsed = parseSignedNote(note);
  return witnesses
    .filter((w) =>
      signaturesBy(parsed, w).some((s) => {
        const cosignature = openCosignature(s);
        return !!cosignature && verifySignature(null, cosignedMessage(parsed.body, cosignature.timestamp), ed25519Key(w.publicKey), cosignature.signature);
      }),
    )
    .map((w) => w.name);
}

export async function verifyAuditLog(source: AuditSource, options: VerifyOptions): Promise<VerifyResult> {
  const { log, state, checkSignatures = true, pageSize = 1000 } = options;
  const origin = `custodes/${log}`;
  const failure = (error: string): VerifyResult => ({ ok: false, error });
  if (state && state.log !== log) return failure(`the saved state is for ${state.log}, not ${log}`);

  // The witnesses' keys and quorum (1b below) need no network: refuse bad ones before asking anything.
  let witnesses: VerifierKey[] = [];
  try {
    witnesses = (options.witnesses ?? []).map(parseCosignerVkey);
  } catch (error) {
    return failure(`bad witness key: ${(error as Error).message}`);
  }
  const quorum = options.quorum ?? (witnesses.length > 0 ? 1 : 0);
  if (quorum > witnesses.length) return failure(`a quorum of ${quorum} needs at least ${quorum} witness keys (${witnesses.length} given)`);
  if (quorum > 0 && !source.cosignedCheckpoint) return failure('this source serves no cosigned checkpoints');
  // The log key, the checkpoint and the record keys in one round trip's time, not three (issue 34): each is checked
  // below in the order the argument needs them, whatever order they arrive in.
  // And the first page of records: a verification reads the log from its start, so the server serves that page while
  // the checkpoint is checked; its size then says how many more pages to ask for.
  const firstPage = source.records(0, pageSize);
  firstPage.catch(() => undefined); // awaited below, unless the checkpoint is refused first
  const [servedKey, note, jwks] = await Promise.all([
    source.logKey(),
    quorum > 0 ? source.cosignedCheckpoint!(quorum) : source.checkpoint(),
    checkSignatures ? source.jwks().then(({ keys }) => keys) : null,
  ]);

  // 1. The checkpoint, under a pinned key when we have one — or under its successor, through signed hand-overs.
  const serverKey = servedKey.trim();
  const trusted = options.vkey ?? state?.vkey ?? serverKey;
  let trustedKey: VerifierKey;
  let vkey: VerifierKey;
  try {
    trustedKey = parseVerifierKey(trusted);
    vkey = parseVerifierKey(serverKey);
  } catch (error) {
    return failure(`bad verifier key: ${(error as Error).message}`);
  }
  let handovers: Extract<VerifyResult, { ok: true }>['handovers'] = [];
  if (trusted !== serverKey) {
    if (!source.keyHandovers) return failure(`the log key changed: trusted ${trusted}, server offers ${serverKey}, and this source has no hand-overs`);
    const followed = followHandovers(trusted, serverKey, (await source.keyHandovers()).handovers);
    if (!followed.ok) return failure(followed.error);
    handovers = followed.chain;
  }
  const checkpoint = openCheckpoint(note, vkey, origin);
  if (typeof checkpoint === 'string') return failure(checkpoint);
  // 1b. With witnesses: a checkpoint they cosigned, enough of them.
  const cosignedBy = witnesses.length > 0 ? cosignersOf(note, witnesses) : [];
  if (cosignedBy.length < quorum) {
    return failure(
      `the checkpoint at ${checkpoint.size} records is cosigned by ${cosignedBy.length} of the ${witnesses.length} witnesses given (${cosignedBy.join(', ') || 'none'}); ${quorum} required`,
    );
  }

  let previous: Checkpoint | null = null;
  if (state) {
    // The saved checkpoint was signed by the key trusted then.
    const opened = openCheckpoint(state.checkpoint, state.vkey === serverKey ? vkey : trustedKey, origin);
    if (typeof opened === 'string') return failure(`the saved checkpoint does not verify: ${opened}`);
    previous = opened;
    if (previous.size > checkpoint.size) {
      return failure(`rollback: the log shrank from ${previous.size} records (saved checkpoint) to ${checkpoint.size}`);
    }
  }

  // 2. Every record up to the checkpoint's size, in order, each checked (signature, claim, leaf) as soon as the
  // records before it are here: pages are asked for a few at a time (their number is known from the checkpoint),
  // and each run of SEGMENT contiguous records goes to the checker while the next pages are on their way.
  const check = options.checkRecords ?? checkRecordsHere;
  check.expect?.(checkpoint.size);
  const jwsList: string[] = [];
  const segments: Promise<RecordCheck>[] = [];
  let handed = 0; // records handed to the checker
  const handOn = (final: boolean) => {
    while (jwsList.length - handed >= SEGMENT || (final && jwsList.length > handed)) {
      const [from, to] = [handed, final ? jwsList.length : handed + SEGMENT];
      // At once, not after the segment before: a checker on several threads overlaps them (the CLI's does).
      const segment = check(jwsList.slice(from, to), { log, jwks, offset: from });
      segment.catch(() => undefined); // awaited with the others below; not an unhandled rejection meanwhile
      segments.push(segment);
      handed = to;
    }
  };
  const starts = Array.from({ length: Math.ceil(checkpoint.size / pageSize) }, (_, i) => i * pageSize);
  const arrived = new Map<number, RecordsPage>();
  let next = 0; // the next page to take in order; past a gap, the loop below asks again from where the records stop
  let contiguous = true;
  await inParallel(starts, PAGES_IN_FLIGHT, async (from) => {
    arrived.set(from, await (from === 0 ? firstPage : source.records(from, Math.min(pageSize, checkpoint.size - from))));
    while (contiguous && next < starts.length && arrived.has(starts[next]!)) {
      const page = arrived.get(starts[next]!)!;
      arrived.delete(starts[next++]!);
      for (const { index, jws } of page.records) {
        if (jwsList.length >= checkpoint.size) break;
        if (index !== jwsList.length) {
          contiguous = false; // a gap (a short page before this one)
          break;
        }
        jwsList.push(jws);
      }
      if (jwsList.length < Math.min(starts[next] ?? checkpoint.size, checkpoint.size)) contiguous = false;
      handOn(false);
    }
  });
  // Whatever is still missing, page by page: a short page, or a record the server does not have.
  while (jwsList.length < checkpoint.size) {
    const page = await source.records(jwsList.length, Math.min(pageSize, checkpoint.size - jwsList.length));
    if (page.records.length === 0) return failure(`record ${jwsList.length} is missing (the checkpoint covers ${checkpoint.size})`);
    for (const { index, jws } of page.records) {
      if (jwsList.length >= checkpoint.size) break;
      if (index !== jwsList.length) return failure(`record ${jwsList.length} is missing (got index ${index} in its place)`);
      jwsList.push(jws);
    }
  }
  handOn(true);

  // Each payload must name this log and its own index, and (optionally) carry a valid signature.
  const checked = joinChecks(await Promise.all(segments));
  if (checked.claimError) return failure(checked.claimError);
  // A bad signature names the culprit record; report it before the root mismatch it causes.
  const bad = checked.badSignatures;
  if (bad.length > 0) return failure(`record ${bad[0]}: the signature does not verify against the published audit keys (${bad.length} bad in all)`);

  // 3. The leaves hash to the checkpoint's root; 4. the saved checkpoint is a prefix.
  const [previousRoot, root] = prefixRoots(checked, [previous?.size ?? 0, checkpoint.size]) as [Hash, Hash];
  if (!equalHashes(root, checkpoint.root)) {
    return failure(`the records do not hash to the checkpoint root ${hex(checkpoint.root)}: a record was edited, reordered or removed`);
  }
  if (previous && !equalHashes(previousRoot, previous.root)) {
    return failure(`the log was rewritten: its first ${previous.size} records no longer hash to the saved checkpoint's root`);
  }
  if (previous && source.consistency && previous.size > 0 && previous.size < checkpoint.size) {
    const { proof } = await source.consistency(previous.size, checkpoint.size);
    const proofHashes = proof.map(hexToBytes);
    if (!verifyConsistency(previous.size, checkpoint.size, proofHashes, previous.root, checkpoint.root)) {
      return failure(`the server's consistency proof from ${previous.size} to ${checkpoint.size} does not verify`);
    }
  }
  return {
    ok: true,
    checkpoint,
    size: checkpoint.size,
    state: { log, vkey: serverKey, checkpoint: note },
    previousSize: previous?.size ?? null,
    handovers,
    cosignedBy,
  };
}
