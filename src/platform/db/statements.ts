/**
 * A D1 write in plain form — SQL text and parameters — so it can cross an RPC
 * boundary (to a log's sequencer) and join any batch; and the guard that aborts
 * a batch when a write changed other than the rows it meant to
 * (`write_assertions`, platform/db/schema). The lowest layer: domain code and
 * the audit log both build on it.
 */
import { fillPlaceholders, sql, type Placeholder, type SQL } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';

/** A statement in plain form, so it can cross to the log's sequencer. */
export interface WriteStatement {
  sql: string;
  params: unknown[];
  /**
   * What this statement's refusal means to its caller, by the unique key it
   * may break — `table.column[, table.column…]` as SQLite names the key, or a
   * bare table for any of its keys. The commit's refusal then carries the
   * reason (`onUnique`), so no caller reads an error's text.
   */
  unique?: Readonly<Record<string, string>>;
}

/** `statement`, saying what each unique key it may break means (`WriteStatement.unique`). */
export const onUnique = <S extends WriteStatement>(statement: S, reasons: Record<string, string>): S => ({ ...statement, unique: reasons });

/** The reason one of `statements` gives for the unique key `key` (as SQLite names it in its error), if any declared one. */
export function uniqueReason(statements: readonly WriteStatement[], key: string): string | undefined {
  const table = key.split('.')[0]!;
  for (const s of statements) if (s.unique?.[key]) return s.unique[key];
  for (const s of statements) if (s.unique?.[table]) return s.unique[table];
  return undefined;
}

const dialect = new SQLiteAsyncDialect();

/** A drizzle query builder or `sql` template as a WriteStatement. */
export function write(query: { toSQL(): { sql: string; params: unknown[] } } | SQL): WriteStatement {
  const { sql, params } = 'toSQL' in query ? query.toSQL() : dialect.sqlToQuery(query);
  return { sql, params };
}

/** Each value of `Values` as a placeholder of its name, for a statement built once (`compiledWrite`). */
export type Placeholders<Values> = { readonly [K in keyof Values & string]: Placeholder<K> };

/**
 * A hot write built once: `build` gets a placeholder for each value, and each
 * call fills them in. Why: drizzle's SQL builder walks the template on every
 * call; for an audited VM create's guarded INSERT that walk was ~100 µs of
 * workerd CPU, a sixth of the request's Worker side (issue 34, A/B in one isolate).
 */
export function compiledWrite<Values extends object>(build: (values: Placeholders<Values>) => SQL): (values: Values) => WriteStatement {
  const placeholders = new Proxy({} as Placeholders<Values>, { get: (_, name) => sql.placeholder(String(name)) });
  const { sql: text, params } = dialect.sqlToQuery(build(placeholders));
  return (values) => ({ sql: text, params: fillPlaceholders(params, values as Record<string, unknown>) });
}

/** Aborts the batch unless the previous statement changed exactly `expected` rows (see platform/db/schema). */
export const expectChanges = (label: string, expected = 1): WriteStatement => ({
  sql: 'INSERT INTO write_assertions (label, expected, actual) VALUES (?, ?, changes())',
  params: [label, expected],
});

/**
 * A read whose rows are `Row`: the columns it selects, named, so its rows come
 * back checked and typed (`rowsOf`) — a plain-data decoder, so a query still
 * crosses to a log's sequencer and joins its batch.
 */
export interface Query<Row> extends WriteStatement {
  readonly columns: readonly (keyof Row & string)[];
}

/** The rows D1 answered for `query`, typed: every row must carry each column the query names, or it is not this query's answer. */
export function rowsOf<Row>(query: Query<Row>, rows: readonly unknown[]): Row[] {
  for (const row of rows) {
    for (const column of query.columns) {
      if (typeof row !== 'object' || row === null || !(column in row))
        throw new Error(`a row lacks ${column}: it is not an answer to ${query.sql.trim().slice(0, 60)}…`);
    }
  }
  // Checked just above: each row carries every column of Row.
  return rows as readonly unknown[] as Row[];
}
