/** Keyset pagination over time-ordered ids: stable under concurrent inserts, O(page) per read. */
export interface PageRequest {
  /** Return items whose id sorts after this one. */
  after?: string;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Id of the last item when more items follow. */
  nextCursor?: string;
}

/**
 * Services fetch `limit + 1` rows; the extra row only says whether another
 * page exists. The cursor is the last item's id, or what `cursorOf` says
 * (a list keyed by another column).
 */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T>;
export function toPage<T>(rows: T[], limit: number, cursorOf: (item: T) => string): Page<T>;
export function toPage<T>(rows: T[], limit: number, cursorOf = (item: T) => (item as { id: string }).id): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextCursor: cursorOf(items[items.length - 1]!) };
}
