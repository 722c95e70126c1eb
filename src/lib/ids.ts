/**
 * Resource ids: `<prefix>_<26 chars>`, a ULID-style body (48-bit millisecond
 * time + 80 random bits, Crockford base32). Lexicographic order follows creation
 * time, so keyset pagination over `id` lists resources oldest first.
 */
import { base64urlToBytes } from './bytes';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix = 'hst' | 'ten' | 'vm' | 'adm' | 'req' | 'tsk' | 'dsk' | 'snp' | 'key' | 'rcp' | 'chg' | 'acc' | 'alr';

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = '';
  for (let i = 0; i < 16; i++) tail += CROCKFORD[random[i]! % 32];
  return `${prefix}_${time}${tail}`;
}

/**
 * An id derived from a key id (a base64url SHA-256 thumbprint): the same key
 * always gets the same id. Used where two starts of one checkout must agree on
 * an admin's id without asking each other (the bootstrap ceremony's
 * enrolments, governance/admins/admins.service.ts).
 */
export function idFromKeyId(prefix: IdPrefix, kid: string): string {
  let bits = 0;
  let value = 0;
  let body = '';
  for (const byte of base64urlToBytes(kid)) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && body.length < 26) {
      body += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return `${prefix}_${body}`;
}
