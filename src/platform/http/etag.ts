/**
 * Entity tags are the resource revision (RFC 9110 §8.8.3): `"7"`. `If-Match`
 * uses strong comparison (§13.1.1), so a weak or foreign tag never matches and
 * the write is refused with 412 rather than applied blindly.
 */
export const etag = (revision: number): string => `"${revision}"`;

/** The revision an `If-Match` header demands; undefined when absent or `*`, -1 when it can match nothing. */
export function expectedRevision(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '*') return undefined;
  for (const tag of ifMatch.split(',')) {
    const match = /^\s*"(\d{1,15})"\s*$/.exec(tag);
    if (match) return Number(match[1]);
  }
  return -1;
}
