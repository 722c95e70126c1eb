import { sql } from 'drizzle-orm';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { drizzle } from 'drizzle-orm/d1';
import * as schema from './schema';

export const createDb = (d1: D1Database) => drizzle(d1, { schema });
export type Database = ReturnType<typeof createDb>;

/** The `updated_at` format of platform/db/schema, evaluated by SQLite. */
export const NOW = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** The `SET` members of every write to a revisioned row: bump the revision, stamp the time. */
export const nextRevision = (revision: AnySQLiteColumn) => ({ revision: sql`${revision} + 1`, updatedAt: NOW });
