/**
 * The payload of a compact JWS (RFC 7515 §7.1), unverified: the bytes (a
 * record's Merkle leaf) or the JSON they hold. Check the signature first
 * wherever the content matters.
 */
import { base64urlOf, base64urlToBytes, fromUtf8, utf8 } from '../../lib/bytes.ts';
export const jwsPayloadBytes = (jws: string): Uint8Array => base64urlToBytes(jws.split('.')[1] ?? '');

export const jwsPayload = <T>(jws: string): T => JSON.parse(fromUtf8(jwsPayloadBytes(jws))) as T;

/**
 * Whether a JWS's payload may hold `text`, judged on its base64url form without decoding it: `text` begins at one
 * of three byte offsets modulo 3 and, at each, encodes to a fixed run of characters once the edges that mix in
 * neighbouring bytes are dropped (RFC 4648 §4), so each run stands for `text` less up to two bytes at either end.
 * A payload that holds `text` always matches one run; a match is a "maybe" (decode to be sure). Scanning 10,000
 * records for one action this way costs a fraction of parsing them.
 */
export function payloadMayHold(text: string): (jws: string) => boolean {
  const bytes = utf8(text);
  const runs = [0, 1, 2].map((shift) => {
    const shifted = new Uint8Array(shift + bytes.length);
    shifted.set(bytes, shift);
    // A shift of 1 taints the first 2 characters, of 2 the first 3; the last, incomplete group depends on what follows.
    return base64urlOf(shifted).slice([0, 2, 3][shift], Math.floor(shifted.length / 3) * 4);
  });
  return (jws) => {
    const payload = jws.slice(jws.indexOf('.') + 1, jws.lastIndexOf('.'));
    return runs.some((run) => payload.includes(run));
  };
}
