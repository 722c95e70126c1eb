/** Request plumbing: seen token ids, stored idempotent responses, and the assertion tables whose CHECKs abort a batch. */
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Seen token ids, kept until the token expires: RFC 8725 §3.10 / docs/design.md §2 replay defence. */
export const tokenReplays = sqliteTable(
  'token_replays',
  {
    principalId: text('principal_id').notNull(),
    jti: text('jti').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.principalId, t.jti] }), index('token_replays_exp_idx').on(t.expiresAt)],
);

/**
 * Stored responses for `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header).
 * The request's audit batch writes the row `committed` (with the request id)
 * and is refused if a live row holds the key, so the effect and the key's row
 * land together and a concurrent duplicate changes nothing; the response is
 * stored afterwards (`complete`). A request that commits nothing writes its
 * answer `complete` at once (platform/middleware/idempotency).
 */
export const idempotencyRecords = sqliteTable(
  'idempotency_records',
  {
    principalId: text('principal_id').notNull(),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    state: text('state', { enum: ['pending', 'committed', 'complete', 'lost'] }).notNull(),
    /** Unused since issue 34 (the request id names who took the key); an earlier version's claim id. */
    claim: text('claim'),
    /** The request whose audit batch committed under this key. */
    requestId: text('request_id'),
    committedAt: integer('committed_at'),
    status: integer('status'),
    headers: text('headers'),
    body: text('body'),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.principalId, t.key] }), index('idempotency_exp_idx').on(t.expiresAt)],
);

/**
 * Assertions inside a D1 batch. `INSERT INTO write_assertions VALUES (label,
 * expected, changes())` aborts the whole batch (a trigger RAISEs) when the
 * previous statement changed an unexpected number of rows, and otherwise
 * stores nothing (RAISE(IGNORE)). It is how a guarded write and its audit
 * record commit together or not at all. The trigger is in drizzle/0002.
 */
export const writeAssertions = sqliteTable('write_assertions', {
  label: text('label').notNull(),
  expected: integer('expected').notNull(),
  actual: integer('actual').notNull(),
});

/**
 * The same device for token ids: `INSERT INTO replay_assertions VALUES
 * (changes())` right after the jti insert aborts the batch — the request's
 * audit record with it — when the jti was already used. The trigger is in
 * drizzle/0005.
 */
export const replayAssertions = sqliteTable('replay_assertions', {
  actual: integer('actual').notNull(),
});

/**
 * The same device for idempotency keys: `INSERT INTO idempotency_assertions
 * VALUES (changes())` after the update that marks a key's claim committed
 * aborts the batch when the claim is no longer this request's (it expired
 * and a retry took the key). The trigger is in drizzle/0014.
 */
export const idempotencyAssertions = sqliteTable('idempotency_assertions', {
  actual: integer('actual').notNull(),
});

/**
 * The same device for principals: authentication reads a principal's key from
 * an isolate cache, and the request's audit batch re-checks in D1 that the
 * key's row is still what was read (active, same roles, scopes and VMs):
 * `INSERT INTO principal_assertions SELECT count(*) …` aborts the batch — the
 * request's writes and record with it — when it is not. A revocation thus
 * takes effect on the very next request without a key read on every request.
 * The trigger is in drizzle/0008.
 */
export const principalAssertions = sqliteTable('principal_assertions', {
  actual: integer('actual').notNull(),
});
