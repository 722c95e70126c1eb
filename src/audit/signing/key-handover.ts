/**
 * Key hand-over, the server's half (format: audit/format/handover.ts).
 *
 * - Approved: the key that signs today (the predecessor) signs the hand-over
 *   to the approved key — right after the approval, or on the next start of
 *   a Worker holding it if that was interrupted (`signPendingHandovers`).
 * - Activated: the successor refuses to sign anything until it holds its
 *   predecessor's hand-over, then adds its own signature in the activation's
 *   batch (`countersignHandover`, called by audit-key-registry.ts).
 * - Published: `GET /v1/audit/key-handovers` serves each one with the
 *   approving record and its inclusion proof, so a verifier pinned to any
 *   older key walks the chain offline (sdk/audit-verify.ts).
 */
import type { Env } from '../../env';
import { formatSignedNote, parseSignedNote, parseVerifierKey, signaturesBy, verifierKey } from '../format/note';
import { handoverBody, HANDOVER_ORIGIN, parseHandoverBody, type KeyHandover } from '../format/handover';
import { PROVIDER_LOG } from '../log/logs';
import { listRecords, proveInclusion } from '../log/reader';
import { auditSigningKey, NOTE_KEY_NAME, signBytes, type AuditSigningKey } from './signing-key';
import { ASCII_NOTE_SQL, asciiNote, type WriteStatement } from '../log/commit';
import { base64urlToBytes, hexOf, hexToBytes } from '../../lib/bytes';
import { jwsPayload } from '../format/jws';

const noteVkeyOf = (publicJwk: string): string => verifierKey(NOTE_KEY_NAME, base64urlToBytes((JSON.parse(publicJwk) as { x: string }).x));

/** The provider-log index of the record approving change `change`, if it is there. */
async function approvalOf(env: Env, change: string): Promise<number | null> {
  const { results } = await env.DB.prepare(
    "SELECT idx, jws FROM audit_records WHERE log = ? AND action = 'change.approve' AND outcome = 'allowed' ORDER BY idx DESC LIMIT 1000",
  )
    .bind(PROVIDER_LOG)
    .all<{ idx: number; jws: string }>();
  const found = results.find((r) => jwsPayload<{ details?: { change?: string } }>(r.jws).details?.change === change);
  return found?.idx ?? null;
}

/** Signs, with the active key, the hand-over to each approved key that has none yet. Idempotent. */
export async function signPendingHandovers(env: Env): Promise<number> {
  const key = await auditSigningKey(env.AUDIT_SIGNING_JWK);
  // One read, run once per isolate start: nothing unless this key is the active one and a hand-over is missing.
  const { results } = await env.DB.prepare(
    `SELECT kid, public_jwk, change_id FROM audit_keys WHERE state = 'approved' AND handover IS NULL AND change_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM audit_keys WHERE kid = ? AND state = 'active')`,
  )
    .bind(key.kid)
    .all<{ kid: string; public_jwk: string; change_id: string }>();
  let signed = 0;
  for (const next of results) {
    const approvalIndex = await approvalOf(env, next.change_id);
    const head = await env.DB.prepare('SELECT size, root FROM audit_logs WHERE log = ?').bind(PROVIDER_LOG).first<{ size: number; root: string }>();
    if (approvalIndex === null || !head || head.size <= approvalIndex) continue; // the approval is not committed (yet)
    const body = handoverBody({
      checkpoint: { origin: HANDOVER_ORIGIN, size: head.size, root: hexToBytes(head.root) },
      to: noteVkeyOf(next.public_jwk),
      change: next.change_id,
      approvalIndex,
    });
    const note = formatSignedNote(body, [{ name: NOTE_KEY_NAME, keyId: key.noteKeyId, signature: await signBytes(key, new TextEncoder().encode(body)) }]);
    const { meta } = await env.DB.prepare('UPDATE audit_keys SET handover = ?, approval_index = ? WHERE kid = ? AND handover IS NULL')
      .bind(note, approvalIndex, next.kid)
      .run();
    signed += meta.changes;
  }
  return signed;
}

/** Why a hand-over does not let `key` take over from the key with `predecessorJwk`, or null when it does. */
async function predecessorSigned(note: string | null, key: AuditSigningKey, predecessorJwk: string): Promise<string | null> {
  if (!note) return 'no hand-over was signed';
  const parsed = parseSignedNote(note);
  const claim = parseHandoverBody(parsed.body);
  if (typeof claim === 'string') return claim;
  if (claim.to !== key.vkey) return 'the hand-over names another key';
  const predecessor = parseVerifierKey(noteVkeyOf(predecessorJwk));
  const publicKey = await crypto.subtle.importKey('raw', predecessor.publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
  const body = new TextEncoder().encode(parsed.body);
  for (const s of signaturesBy(parsed, predecessor))
    if (await crypto.subtle.verify('Ed25519', publicKey, s.signature as Uint8Array<ArrayBuffer>, body)) return null;
  return 'the hand-over is not signed by the active key';
}

/**
 * The activation's half: `key` (approved, about to sign its first record)
 * countersigns its predecessor's hand-over. Answers the write storing the
 * doubly signed note and what the activation record says of it, or why the
 * key may not take over.
 */
export async function countersignHandover(
  env: Env,
  key: AuditSigningKey,
  predecessor: { kid: string; publicJwk: string },
): Promise<{ ok: true; write: WriteStatement; details: { from: string; change: string; approvalIndex: number } } | { ok: false; why: string }> {
  const row = await env.DB.prepare('SELECT handover, change_id, approval_index FROM audit_keys WHERE kid = ?')
    .bind(key.kid)
    .first<{ handover: string | null; change_id: string | null; approval_index: number | null }>();
  const why = await predecessorSigned(row?.handover ?? null, key, predecessor.publicJwk);
  if (why) return { ok: false, why };
  const parsed = parseSignedNote(row!.handover!);
  const signature = await signBytes(key, new TextEncoder().encode(parsed.body));
  const note = formatSignedNote(parsed.body, [...parsed.signatures, { name: NOTE_KEY_NAME, keyId: key.noteKeyId, signature }]);
  // In the activation's batch: bound as ASCII, as the sequencer binds checkpoints.
  return {
    ok: true,
    write: { sql: `UPDATE audit_keys SET handover = ${ASCII_NOTE_SQL} WHERE kid = ?`, params: [asciiNote(note), key.kid] },
    details: { from: predecessor.kid, change: row!.change_id!, approvalIndex: row!.approval_index! },
  };
}

/** Every hand-over signed so far, oldest first, each with its approving record and the record's inclusion proof. */
export async function publishedHandovers(env: Env): Promise<KeyHandover[]> {
  await signPendingHandovers(env).catch(() => 0); // a hand-over interrupted after its approval is finished by any reader
  const { results } = await env.DB.prepare(
    'SELECT kid, state, handover, change_id, approval_index FROM audit_keys WHERE handover IS NOT NULL ORDER BY activated_at, kid',
  ).all<{ kid: string; state: KeyHandover['state']; handover: string; change_id: string; approval_index: number }>();
  const { results: keys } = await env.DB.prepare('SELECT kid, public_jwk FROM audit_keys').all<{ kid: string; public_jwk: string }>();
  const hex = hexOf;
  const kidByNoteKeyId = new Map(keys.map((k) => [hex(parseVerifierKey(noteVkeyOf(k.public_jwk)).keyId), k.kid]));
  return Promise.all(
    results.map(async (row) => {
      const note = parseSignedNote(row.handover);
      const claim = parseHandoverBody(note.body);
      if (typeof claim === 'string') throw new Error(`stored hand-over to ${row.kid}: ${claim}`);
      // The predecessor signed first.
      const from = kidByNoteKeyId.get(hex(note.signatures[0]!.keyId)) ?? '';
      const { records } = await listRecords(env, PROVIDER_LOG, row.approval_index, 1);
      const proof = await proveInclusion(env, PROVIDER_LOG, row.approval_index, claim.checkpoint.size);
      if (!proof.ok) throw new Error(`inclusion proof of the approval of ${row.kid}: ${proof.error.detail}`);
      return {
        from,
        to: row.kid,
        state: row.state,
        note: row.handover,
        change: row.change_id,
        approval: { index: row.approval_index, size: claim.checkpoint.size, jws: records[0]!.jws, proof: proof.value.proof },
      };
    }),
  );
}
