/**
 * Witness cosignatures on checkpoints: C2SP tlog-cosignature, the Ed25519
 * type (`cosignature/v1`). Pure formatting and parsing, like note.ts; the
 * signature bytes come from the caller.
 *
 *   signed message:  "cosignature/v1\n" ‖ "time " <decimal T> "\n" ‖ <checkpoint body>
 *   note signature:  — <name> base64(key id ‖ u64 big-endian T ‖ Ed25519 signature)
 *   key id:          SHA-256(<name> ‖ "\n" ‖ 0x04 ‖ public key)[0:4]
 *   vkey:            <name>+<hex key id>+base64(0x04 ‖ public key)
 *
 * The algorithm byte (0x04, not the log's 0x01) keeps a cosignature from
 * ever passing as the log's own signature, and the reverse.
 */
import { createHash } from 'node:crypto';
import type { NoteSignature, VerifierKey } from './note.ts';
import { base64Of, base64ToBytes, hexOf } from '../../lib/bytes.ts';

export const COSIGNATURE_V1 = 0x04;
const TIMESTAMP_BYTES = 8;
const ED25519_SIGNATURE_BYTES = 64;

export function cosignerKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(name).update('\n').update(Uint8Array.of(COSIGNATURE_V1)).update(publicKey).digest();
  return new Uint8Array(digest.subarray(0, 4));
}

export function cosignerVkey(name: string, publicKey: Uint8Array): string {
  const id = hexOf(cosignerKeyId(name, publicKey));
  return `${name}+${id}+${base64Of(Uint8Array.of(COSIGNATURE_V1, ...publicKey))}`;
}

/** A witness's verifier key; throws on anything but a well-formed Ed25519 cosigner vkey. */
export function parseCosignerVkey(vkey: string): VerifierKey {
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!match) throw new Error(`not a C2SP verifier key: ${vkey}`);
  const [, name = '', idHex = '', key = ''] = match;
  const raw = base64ToBytes(key);
  if (raw.length !== 33 || raw[0] !== COSIGNATURE_V1) throw new Error(`not an Ed25519 cosigner key (type 0x04): ${vkey}`);
  const publicKey = raw.subarray(1);
  if (hexOf(cosignerKeyId(name, publicKey)) !== idHex) throw new Error(`the key id of ${vkey} does not match its key`);
  return { name, keyId: cosignerKeyId(name, publicKey), publicKey };
}

/** What a cosigner signs for `body` (a checkpoint's note body, extension lines included) at POSIX time `timestamp`. */
export function cosignedMessage(body: string, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new Error('a cosignature time is a non-negative integer');
  return new TextEncoder().encode(`cosignature/v1\ntime ${timestamp}\n${body}`);
}

/** The note signature carrying a cosignature. */
export function cosignatureOf(witness: VerifierKey, timestamp: number, signature: Uint8Array): NoteSignature {
  const stamped = new Uint8Array(TIMESTAMP_BYTES + signature.length);
  new DataView(stamped.buffer).setBigUint64(0, BigInt(timestamp));
  stamped.set(signature, TIMESTAMP_BYTES);
  return { name: witness.name, keyId: witness.keyId, signature: stamped };
}

/** A note signature read as a cosignature: its time and Ed25519 signature, or null when it has not that shape. */
export function openCosignature(signature: NoteSignature): { timestamp: number; signature: Uint8Array } | null {
  if (signature.signature.length !== TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES) return null;
  const view = new DataView(signature.signature.buffer, signature.signature.byteOffset, TIMESTAMP_BYTES);
  const timestamp = view.getBigUint64(0);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { timestamp: Number(timestamp), signature: signature.signature.subarray(TIMESTAMP_BYTES) };
}
