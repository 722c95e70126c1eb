/**
 * No answer before the schema (issue 31). A local runtime (src/testing/
 * runtime.ts: `npm start`, `startCustodes`) opens its port before it has
 * applied the migrations — it needs the running D1 to apply them — so the
 * first requests of a fresh start would meet missing tables: 500s with stack
 * traces, and half-run start-up work (the audit key's hand-over) in the log.
 * The launcher names the last migration it will apply (`CUSTODES_SCHEMA`);
 * until `d1_migrations` holds it, a request waits (the migrations take a
 * fraction of a second), so a client polling from the first moment sees a
 * slow answer, never an error; only if the schema never comes (`waitMs`) is
 * it a `503 schema_pending` with `Retry-After` (RFC 9110 §10.2.3), and
 * nothing else runs. Once seen, the isolate remembers: a ready database
 * costs one query per isolate.
 * A deployment applies its migrations before it deploys and sets no name.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../env';
import { problemResponse } from '../../http/problem';

/** The migration this isolate has seen applied (any later request of it can skip the check). */
let seen: string | null = null;

export interface SchemaGateOptions {
  /** How long a request waits for the schema before it is refused. */
  waitMs?: number;
  /** Between looks at `d1_migrations`. */
  pollMs?: number;
}

export function schemaGate(options: SchemaGateOptions = {}): MiddlewareHandler<AppEnv> {
  const { waitMs = 30_000, pollMs = 25 } = options;
  return async function schemaGateMiddleware(c, next) {
    const expected = c.env.CUSTODES_SCHEMA;
    if (!expected || seen === expected) return next();
    const applied = () =>
      c.env.DB.prepare('SELECT 1 AS applied FROM d1_migrations WHERE name = ?')
        .bind(expected)
        .first<{ applied: number }>()
        .catch(() => null); // no d1_migrations table yet: nothing is applied
    const deadline = Date.now() + waitMs;
    while (!(await applied())) {
      if (Date.now() >= deadline)
        return problemResponse(c, 'schema_pending', `The database schema is still being applied (waiting for ${expected}); retry in a moment.`, undefined, {
          'Retry-After': '1',
        });
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    seen = expected;
    return next();
  };
}
