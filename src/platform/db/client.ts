import { sql } from 'drizzle-orm';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { drizzle } from 'drizzle-orm/d1';
import * as schema from './schema';

const newDb = (d1: D1Database) => drizzle(d1, { schema });
export type Database = ReturnType<typeof newDb>;

/**
 * Why cached: drizzle() derives its relational config from the whole schema
 * on every call, ~4% of an audited request's CPU (issue 16's profile). An
 * env binding is one object for the isolate's life, so its instance is too;
 * a per-request wrapper (server-timing) gets its own, and is collected with it.
 */
const instances = new WeakMap<D1Database, Database>();

export function createDb(d1: D1Database): Database {
  let db = instances.get(d1);
  if (!db) {
    db = newDb(d1);
    instances.set(d1, db);
  }
  return db;
}

/** The `updated_at` format of platform/db/schema, evaluated by SQLite. */
export const NOW = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** The `SET` members of every write to a revisioned row: bump the revision, stamp the time. */
export const nextRevision = (revision: AnySQLiteColumn) => ({ revision: sql`${revision} + 1`, updatedAt: NOW });
