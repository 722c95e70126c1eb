/** Columns many tables share. */
import { sql } from 'drizzle-orm';
import { text } from 'drizzle-orm/sqlite-core';

/** Creation and last-update times, ISO 8601 with milliseconds, stamped by SQLite. */
export const timestamps = {
  createdAt: text('created_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  updatedAt: text('updated_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
};
