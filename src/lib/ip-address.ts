/**
 * IP addresses, as bytes: parsing (dotted-quad IPv4, every IPv6 form,
 * RFC 4291 §2.2) and whether an address is public unicast, from IANA's IPv4
 * and IPv6 Special-Purpose Address Registries (RFC 6890). Pure; used where
 * an address decides something: webhook targets (audit/alerts/webhook-policy.ts)
 * and the client address a record keeps (platform/http/limits.ts).
 */
/** An address as bytes: 4 (IPv4) or 16 (IPv6). */
export type Address = Uint8Array;

/** Parses a dotted-quad IPv4 or an IPv6 address (as the URL parser normalises them); null otherwise. */
export function parseAddress(text: string): Address | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((p) => p <= 255) ? new Uint8Array(parts) : null;
  }
  if (!text.includes(':') || !/^[0-9a-f:.]+$/i.test(text)) return null;
  // An embedded dotted quad (`::ffff:127.0.0.1`) is two hex words.
  let body = text;
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted) {
    const v4 = parseAddress(dotted[1]!);
    if (!v4) return null;
    body = `${text.slice(0, dotted.index + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const group = (s: string) => (s === '' ? [] : s.split(':'));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  const words = [...head, ...rest].map((w) => (/^[0-9a-f]{1,4}$/i.test(w) ? parseInt(w, 16) : NaN));
  if (words.some(Number.isNaN)) return null;
  const missing = 8 - words.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...words.slice(0, head.length), ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...words.slice(head.length)];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/** `[prefix, bits]`: a range as the leading bits of an address. */
type Range = [number[], number];

const inRange = (address: Address, [prefix, bits]: Range): boolean => {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((address[byte]! & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
};

/** IPv4 ranges that are not public unicast (IANA IPv4 Special-Purpose Address Registry, plus multicast and reserved). */
const V4_NOT_PUBLIC: Range[] = [
  [[0], 8], // "this network"
  [[10], 8], // private (RFC 1918)
  [[100, 64], 10], // shared address space (RFC 6598)
  [[127], 8], // loopback
  [[169, 254], 16], // link-local (cloud metadata lives here)
  [[172, 16], 12], // private
  [[192, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2], 24], // documentation
  [[192, 31, 196], 24], // AS112
  [[192, 52, 193], 24], // AMT
  [[192, 88, 99], 24], // 6to4 relay anycast (deprecated)
  [[192, 168], 16], // private
  [[192, 175, 48], 24], // direct delegation AS112
  [[198, 18], 15], // benchmarking (RFC 2544)
  [[198, 51, 100], 24], // documentation
  [[203, 0, 113], 24], // documentation
  [[224], 4], // multicast
  [[240], 4], // reserved, and the limited broadcast address
];

/** IPv6 ranges that are not public unicast; the forms that embed IPv4 are judged by what they embed. */
const V6_NOT_PUBLIC: Range[] = [
  [[], 128], // unspecified
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128], // loopback
  [[0, 0x64, 0xff, 0x9b, 0, 1], 48], // local-use NAT64 (RFC 8215)
  [[1], 64], // discard-only (RFC 6666)
  [[0x20, 0x01, 0, 0], 23], // IETF protocol assignments (Teredo, ORCHID, benchmarking …)
  [[0x20, 0x01, 0x0d, 0xb8], 32], // documentation
  [[0x3f, 0xff], 20], // documentation (RFC 9637)
  [[0x5f], 8], // SRv6 SIDs
  [[0xfc], 7], // unique local
  [[0xfe, 0x80], 10], // link-local
  [[0xfe, 0xc0], 10], // site-local (deprecated)
  [[0xff], 8], // multicast
];

const MAPPED: Range = [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96];
const COMPATIBLE: Range = [[], 96];
const NAT64: Range = [[0, 0x64, 0xff, 0x9b], 96];
const SIX_TO_FOUR: Range = [[0x20, 0x02], 16];

/** Whether `address` is a public unicast address: the only kind a webhook may reach. */
export function isPublicAddress(address: Address): boolean {
  if (address.length === 4) return !V4_NOT_PUBLIC.some((range) => inRange(address, range));
  if (inRange(address, MAPPED) || inRange(address, COMPATIBLE) || inRange(address, NAT64)) return isPublicAddress(address.slice(12, 16));
  if (inRange(address, SIX_TO_FOUR)) return isPublicAddress(address.slice(2, 6));
  // Global unicast is 2000::/3; everything else is unassigned or special.
  if ((address[0]! & 0xe0) !== 0x20) return false;
  return !V6_NOT_PUBLIC.some((range) => inRange(address, range));
}
