/**
 * The payload of a compact JWS (RFC 7515 §7.1), unverified: the bytes (a
 * record's Merkle leaf) or the JSON they hold. Check the signature first
 * wherever the content matters.
 */
import { base64urlToBytes, fromUtf8 } from '../../lib/bytes.ts';
export const jwsPayloadBytes = (jws: string): Uint8Array => base64urlToBytes(jws.split('.')[1] ?? '');

export const jwsPayload = <T>(jws: string): T => JSON.parse(fromUtf8(jwsPayloadBytes(jws))) as T;
