/**
 * RFC 8785 JSON Canonicalization Scheme for the values audit records hold:
 * object members sorted by UTF-16 code units (§3.2.3), strings and numbers
 * serialized as ECMAScript does (§3.2.2 — exactly JSON.stringify for finite
 * numbers and strings), no insignificant whitespace. Non-finite numbers and
 * non-JSON values are refused rather than silently changed.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };

/**
 * Plain data (strings, numbers, booleans, null, arrays and objects of them:
 * a record, a view, stored parameters) as the JsonValue it is. TypeScript
 * will not call an interface a JsonValue — it has no index signature — so
 * this is the one place that says so.
 */
export const jsonOf = (data: object): JsonValue => data as unknown as JsonValue;

export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('RFC 8785 has no representation for non-finite numbers');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const members = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`not a JSON value: ${typeof value}`);
}
