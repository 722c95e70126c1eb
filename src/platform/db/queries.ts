/**
 * The query shapes every service shares. One row by its key, as a view or
 * null. Keyset pagination (lib/page.ts): rows whose key sorts
 * after the cursor, in key order — ascending, or newest first for lists read
 * as feeds — with `limit + 1` rows fetched so the extra one says whether
 * another page exists. Stable under concurrent inserts, O(page) per read.
 */
import { asc, desc, gt, lt, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { toPage, type Page, type PageRequest } from '../../lib/page';

/** A select whose filters are set: what is left is order and limit (any drizzle select builder). */
interface Filtered<Row> {
  orderBy(order: SQL): { limit(limit: number): PromiseLike<Row[]> };
}

export interface KeysetOptions<Row, T> {
  /** The column the cursor names (ids sort by creation time). */
  key: SQLiteColumn;
  page: PageRequest;
  /** Default `asc`; `desc` lists newest first. */
  direction?: 'asc' | 'desc';
  view: (row: Row) => T | Promise<T>;
  /** The cursor an item leaves (default its `id`). */
  cursor?: (item: T) => string;
}

/** One page: `select` gets the keyset condition to AND into its own filters. */
export async function keysetPage<Row, T>(select: (after: SQL | undefined) => Filtered<Row>, options: KeysetOptions<Row, T>): Promise<Page<T>> {
  const { key, page, direction = 'asc', view, cursor = (item: T) => (item as { id: string }).id } = options;
  const after = page.after === undefined ? undefined : direction === 'asc' ? gt(key, page.after) : lt(key, page.after);
  const rows = await select(after)
    .orderBy(direction === 'asc' ? asc(key) : desc(key))
    .limit(page.limit + 1);
  return toPage(await Promise.all(rows.map(view)), page.limit, cursor);
}

/** The first row of `query` as a view, or null when there is none. */
export async function firstOf<Row, T>(query: PromiseLike<Row[]>, view: (row: Row) => T | Promise<T>): Promise<T | null> {
  const [row] = await query;
  return row === undefined ? null : view(row);
}
