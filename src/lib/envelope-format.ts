/**
 * The envelope of docs/design.md §4, as both sides know it: the client seals pages
 * into it (sdk/envelope.ts), the server checks only its shape and size
 * (tenant/contents/contents.service.ts). One definition, so the two cannot disagree.
 *
 *     0x01 | key-id (16) | nonce (12) | AES-256-GCM ciphertext (4096) + tag (16)
 */
export type Space = 'memory' | 'disk';

/** Plaintext bytes per memory page or disk block (docs/design.md §3). */
export const PAGE_BYTES = 4096;
export const ENVELOPE_VERSION = 0x01;
export const KEY_ID_BYTES = 16;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;
export const ENVELOPE_BYTES = HEADER_BYTES + PAGE_BYTES + TAG_BYTES;
/** Base64 (RFC 4648 §4, padded) length of an envelope. */
export const ENVELOPE_BASE64_LENGTH = Math.ceil(ENVELOPE_BYTES / 3) * 4;
