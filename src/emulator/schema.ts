/**
 * `POST /_emulator/schema`: a local start's migrations, applied by the Worker
 * itself (issue 34). The launcher (src/testing/runtime.ts: `npm start`,
 * `startCustodes`) used to apply them from Node through Miniflare's D1
 * proxy, where every prepared statement is a round trip to workerd: ~0.6 s
 * of a 1.2 s start, for SQL that SQLite runs in 10 ms. Here they are one
 * batch in the isolate, with the start's reset of the emulator's controls
 * (a moved clock or a fault rule is a test's setting, not state) unless the
 * start keeps them.
 *
 * Served before the schema gate and the emulator's runtime (neither can run
 * before the tables exist), in emulator mode only, behind the control token;
 * not recorded — there is no log before there are tables, as a deployment's
 * own `wrangler d1 migrations apply` is not. It runs the SQL it is sent, so it
 * answers ONCE per start (the launcher's call, the moment the Worker is
 * ready): afterwards the control token is not a channel for SQL that edits a
 * running instance's records (409 `invalid_state`).
 */
import type { Context } from 'hono';
import { z } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { problemResponse } from '../platform/http/problem';
import { applyMigrations, type SchemaAnswer } from '../platform/db/migrations';
import { clearIsolateCaches } from '../platform/isolate-caches';

const SchemaRequest = z.strictObject({
  migrations: z.array(z.strictObject({ name: z.string().min(1).max(200), sql: z.string() })).max(1000),
  keepControls: z.boolean().default(false),
});

/** Whether this isolate's start has had its schema call (the launcher's, the one it answers). */
let schemaApplied = false;

export async function applySchema(c: Context<AppEnv>): Promise<Response> {
  const parsed = SchemaRequest.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success)
    return problemResponse(c, 'invalid_request', `The schema request is not {migrations: [{name, sql}], keepControls?}: ${parsed.error.issues[0]?.message}.`);
  if (schemaApplied)
    return problemResponse(c, 'invalid_state', "This instance's migrations were applied at its start; the schema route answers once per start.");
  const db = c.env.DB;
  schemaApplied = true; // before any await: a second call racing the first is refused too
  const applied = await applyMigrations(db, parsed.data.migrations);
  const read = db.prepare('SELECT clock_offset_ms AS clockOffsetMs, faults FROM emulator_state WHERE id = 1');
  const answers = await db.batch<{ clockOffsetMs: number; faults: string }>(
    parsed.data.keepControls ? [read] : [db.prepare("UPDATE emulator_state SET clock_offset_ms = 0, faults = '[]' WHERE id = 1"), read],
  );
  clearIsolateCaches(); // nothing read before the schema (the emulator's state among it) outlives it
  const row = answers.at(-1)!.results[0];
  const controls = { clockOffsetMs: row?.clockOffsetMs ?? 0, faults: row ? (JSON.parse(row.faults) as unknown[]).length : 0 };
  return c.json({ applied, controls } satisfies SchemaAnswer);
}
