/**
 * Resource ids: `<prefix>_<26 chars>`, a ULID-style body (48-bit millisecond
 * time + 80 random bits, Crockford base32). Lexicographic order follows creation
 * time, so keyset pagination over `id` lists resources oldest first.
 */
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
