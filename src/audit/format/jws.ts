/**
 * The payload of a compact JWS (RFC 7515 §7.1), unverified: the bytes (a
 * record's Merkle leaf) or the JSON they hold. Check the signature first
 * wherever the content matters.
 */
export const jwsPayloadBytes = (jws: string): Uint8Array => new Uint8Array(Buffer.from(jws.split('.')[1] ?? '', 'base64url'));

export const jwsPayload = <T>(jws: string): T => JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as T;
