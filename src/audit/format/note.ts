/**
 * C2SP signed notes and tlog checkpoints (c2sp.org/signed-note,
 * c2sp.org/tlog-checkpoint), Ed25519 only. Formatting and parsing are pure;
 * the signature bytes come from the caller (WebCrypto in the Worker,
 * node:crypto in the CLI), so both sides share this one implementation.
 *
 *   checkpoint body:  <origin>\n<size>\n<base64 root>\n
 *   signed note:      <body>\n— <key name> <base64(key id ‖ signature)>\n
 *   key id:           SHA-256(<key name> ‖ "\n" ‖ 0x01 ‖ public key)[0:4]
 *   vkey:             <key name>+<hex key id>+<base64(0x01 ‖ public key)>
 */
import { createHash } from 'node:crypto';
import { base64Of as b64, base64ToBytes as unb64, hexOf } from '../../lib/bytes.ts';

const ED25519 = 0x01;
const SIGNATURE_PREFIX = '\u2014 ';

const isBase64 = (text: string): boolean => /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0;

export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(name).update('\n').update(Uint8Array.of(ED25519)).update(publicKey).digest();
  return new Uint8Array(digest.subarray(0, 4));
}

export function verifierKey(name: string, publicKey: Uint8Array): string {
  const id = hexOf(noteKeyId(name, publicKey));
  return `${name}+${id}+${b64(Uint8Array.of(ED25519, ...publicKey))}`;
}

export interface VerifierKey {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

export function parseVerifierKey(vkey: string): VerifierKey {
  // <name>+<hex id>+<base64>: the base64 part may itself contain '+', so split at the first two only.
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!match) throw new Error('not a C2SP verifier key');
  const [, name = '', idHex = '', key = ''] = match;
  const raw = unb64(key);
  if (raw.length !== 33 || raw[0] !== ED25519) throw new Error('only Ed25519 verifier keys are supported');
  const publicKey = raw.subarray(1);
  const keyId = noteKeyId(name, publicKey);
  if (hexOf(keyId) !== idHex) throw new Error('verifier key id does not match its key');
  return { name, keyId, publicKey };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
}

export function checkpointBody({ origin, size, root }: Checkpoint): string {
  return `${origin}\n${size}\n${b64(root)}\n`;
}

export function parseCheckpointBody(body: string): Checkpoint {
  const lines = body.split('\n');
  const [origin, size, root] = lines;
  if (!origin || !size || !root || !/^(0|[1-9][0-9]{0,15})$/.test(size) || !isBase64(root)) throw new Error('malformed checkpoint');
  const rootBytes = unb64(root);
  if (rootBytes.length !== 32) throw new Error('checkpoint root is not a SHA-256 hash');
  return { origin, size: Number(size), root: rootBytes };
}

export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}

/** One signature line of a note, newline included (a witness answers with these alone). */
export const signatureLine = (s: NoteSignature): string => `${SIGNATURE_PREFIX}${s.name} ${b64(Uint8Array.of(...s.keyId, ...s.signature))}\n`;

export function formatSignedNote(body: string, signatures: readonly NoteSignature[]): string {
  if (!body.endsWith('\n')) throw new Error('a note body ends with a newline');
  return `${body}\n${signatures.map(signatureLine).join('')}`;
}

export function parseSignedNote(text: string): { body: string; signatures: NoteSignature[] } {
  const split = text.lastIndexOf('\n\n');
  if (split < 0 || !text.endsWith('\n')) throw new Error('malformed signed note');
  const body = text.slice(0, split + 1);
  const signatures = text
    .slice(split + 2, -1)
    .split('\n')
    .map((line) => {
      const match = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!match || !isBase64(match[2]!)) throw new Error('malformed note signature line');
      const raw = unb64(match[2]!);
      if (raw.length < 5) throw new Error('note signature too short');
      return { name: match[1]!, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
    });
  return { body, signatures };
}

/** The signatures on a note made by `key` (matched by name and key id). */
export function signaturesBy(note: { signatures: NoteSignature[] }, key: VerifierKey): NoteSignature[] {
  const id = hexOf(key.keyId);
  return note.signatures.filter((s) => s.name === key.name && hexOf(s.keyId) === id);
}
