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

/** Services fetch `limit + 1` rows; the extra row only says whether another page exists. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextCursor: items[items.length - 1]!.id };
}
