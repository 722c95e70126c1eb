/**
 * The log's side of witnessing (C2SP tlog-witness): submitting a checkpoint
 * with a consistency proof to each configured witness, and keeping what they
 * cosign. The sequencer calls `cosignRound` after its commits, never before
 * answering: a request's latency does not include any witness, and a witness
 * that is down only delays cosigning (docs/decisions.md, "Witnesses").
 */
import type { Env } from '../../env';
import { cosignedMessage, openCosignature, parseCosignerVkey } from '../format/cosignature';
import { formatSignedNote, parseSignedNote, signaturesBy, type NoteSignature, type VerifierKey } from '../format/note';
import { proveConsistency } from '../log/reader';
import { base64Of, hexOf, hexToBytes } from '../../lib/bytes';

export interface ConfiguredWitness {
  url: string;
  vkey: string;
  key: VerifierKey;
}

/** How long one add-checkpoint call may take before the round moves on without it. */
export const WITNESS_TIMEOUT_MS = 3000;
/** Cosigned checkpoints kept per log. */
const KEPT_SIZES = 8;

const parsed = new Map<string, ConfiguredWitness[]>();

/** The witnesses of env `AUDIT_WITNESSES` (none when unset); throws on a malformed list. */
export function configuredWitnesses(env: Pick<Env, 'AUDIT_WITNESSES'>): ConfiguredWitness[] {
  const text = env.AUDIT_WITNESSES?.trim();
  if (!text) return [];
  let list = parsed.get(text);
  if (!list) {
    const entries = JSON.parse(text) as { url?: unknown; vkey?: unknown }[];
    if (!Array.isArray(entries)) throw new Error('AUDIT_WITNESSES is a JSON array of {url, vkey}');
    list = entries.map((e) => {
      if (typeof e.url !== 'string' || typeof e.vkey !== 'string') throw new Error('AUDIT_WITNESSES is a JSON array of {url, vkey}');
      return { url: e.url.replace(/\/+$/, ''), vkey: e.vkey, key: parseCosignerVkey(e.vkey) };
    });
    parsed.set(text, list);
  }
  return list;
}

/** A witness's part in a round: its cosignature (null: it had cosigned this size already), or why not. */
export type WitnessOutcome =
  | { witness: string; ok: true; size: number; cosignature: NoteSignature | null }
  | { witness: string; ok: false; error: string; size?: number };

async function verifiedCosignature(witness: ConfiguredWitness, body: string, lines: string): Promise<NoteSignature | null> {
  const publicKey = await crypto.subtle.importKey('raw', witness.key.publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
  for (const signature of signaturesBy(parseSignedNote(`${body}\n${lines}`), witness.key)) {
    const opened = openCosignature(signature);
    if (
      opened &&
      (await crypto.subtle.verify(
        'Ed25519',
        publicKey,
        opened.signature as Uint8Array<ArrayBuffer>,
        cosignedMessage(body, opened.timestamp) as Uint8Array<ArrayBuffer>,
      ))
    )
      return signature;
  }
  return null;
}

/**
 * Asks one witness to cosign `note` (the log's checkpoint at `size`), given
 * the size it cosigned last as far as we know; a witness that knows better
 * answers 409 with its size, and we try once more from there.
 */
export async function submitCheckpoint(env: Env, log: string, witness: ConfiguredWitness, note: string, size: number, known: number): Promise<WitnessOutcome> {
  const body = parseSignedNote(note).body;
  let old = Math.min(known, size);
  for (let attempt = 0; attempt < 2; attempt++) {
    let proof: string[] = [];
    if (old > 0 && old < size) {
      const proved = await proveConsistency(env, log, old, size);
      if (!proved.ok) return { witness: witness.key.name, ok: false, error: proved.error.detail };
      proof = proved.value.proof.map((h) => base64Of(hexToBytes(h)));
    }
    let response: Response;
    try {
      response = await fetch(`${witness.url}/add-checkpoint`, {
        method: 'POST',
        body: `old ${old}\n${proof.map((p) => `${p}\n`).join('')}\n${note}`,
        signal: AbortSignal.timeout(WITNESS_TIMEOUT_MS),
      });
    } catch (error) {
      return { witness: witness.key.name, ok: false, error: `unreachable: ${(error as Error).message}` };
    }
    const text = await response.text();
    if (response.status === 409 && response.headers.get('Content-Type')?.startsWith('text/x.tlog.size')) {
      const theirs = Number(text.trim());
      if (!Number.isSafeInteger(theirs) || theirs > size)
        return { witness: witness.key.name, ok: false, error: `the witness is at size ${text.trim()}, beyond ours (${size})`, size: theirs };
      old = theirs;
      continue;
    }
    if (response.status !== 200) return { witness: witness.key.name, ok: false, error: `${response.status}: ${text.trim().slice(0, 200)}` };
    const cosignature = await verifiedCosignature(witness, body, text);
    return cosignature
      ? { witness: witness.key.name, ok: true, size, cosignature }
      : { witness: witness.key.name, ok: false, error: 'the answer holds no valid cosignature by this witness' };
  }
  return { witness: witness.key.name, ok: false, error: 'the witness moved twice while we asked' };
}

/** Stores the cosignatures gathered for `note` (merged with any kept for that size) and drops old sizes. */
export async function keepCosigned(env: Env, log: string, size: number, note: string, cosignatures: NoteSignature[]): Promise<number> {
  const existing = await env.DB.prepare('SELECT note FROM audit_cosigned WHERE log = ? AND size = ?').bind(log, size).first<string>('note');
  const signed = parseSignedNote(existing ?? note);
  const id = (s: NoteSignature) => `${s.name} ${hexOf(s.keyId)}`;
  const byCosigner = new Map(signed.signatures.slice(1).map((s) => [id(s), s]));
  for (const c of cosignatures) byCosigner.set(id(c), c); // a witness's newer cosignature replaces its older one
  const merged = formatSignedNote(signed.body, [signed.signatures[0]!, ...byCosigner.values()]);
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO audit_cosigned (log, size, note, cosignatures, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (log, size) DO UPDATE SET note = excluded.note, cosignatures = excluded.cosignatures, updated_at = excluded.updated_at`,
    ).bind(log, size, merged, byCosigner.size, new Date().toISOString()),
    env.DB.prepare('DELETE FROM audit_cosigned WHERE log = ? AND size NOT IN (SELECT size FROM audit_cosigned WHERE log = ? ORDER BY size DESC LIMIT ?)').bind(
      log,
      log,
      KEPT_SIZES,
    ),
  ]);
  return byCosigner.size;
}

/** The newest kept checkpoint of `log` with at least `cosignatures` cosignatures. */
export async function cosignedCheckpoint(env: Env, log: string, cosignatures: number): Promise<{ note: string; size: number; cosignatures: number } | null> {
  return env.DB.prepare('SELECT note, size, cosignatures FROM audit_cosigned WHERE log = ? AND cosignatures >= ? ORDER BY size DESC LIMIT 1')
    .bind(log, cosignatures)
    .first<{ note: string; size: number; cosignatures: number }>();
}
