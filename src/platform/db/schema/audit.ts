/** The audit logs (DESIGN §5): heads, records, tree nodes, signing keys. */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

// Audit log (DESIGN §5). One log per tenant (`tenants/<id>`) and one for the
// provider (`provider`). Appends are sequenced by the AuditLogSequencer
// Durable Object, which commits data change + record + tree nodes + head in
// one D1 batch.

/** The head of each log: its size, root, right-edge frontier and latest signed checkpoint. */
export const auditLogs = sqliteTable('audit_logs', {
  log: text('log').primaryKey(),
  size: integer('size').notNull(),
  /** Hex SHA-256 root of the first `size` records. */
  root: text('root').notNull(),
  /** JSON array of hex subtree hashes along the right edge (merkle.ts Frontier). */
  frontier: text('frontier').notNull(),
  /** C2SP signed note over (origin, size, root). */
  checkpoint: text('checkpoint').notNull(),
  updatedAt: text('updated_at').notNull(),
});

export const auditRecords = sqliteTable(
  'audit_records',
  {
    log: text('log').notNull(),
    index: integer('idx').notNull(),
    /** Compact JWS; its payload (RFC 8785 JSON) is the Merkle leaf. */
    jws: text('jws').notNull(),
    // Copies of record fields, for filtering without parsing every JWS.
    time: text('time').notNull(),
    action: text('action').notNull(),
    actorId: text('actor_id'),
    outcome: text('outcome').notNull(),
    /** The request's session: its token's `sid` claim, else its `jti` (recovery seeds and taint, DESIGN §6). */
    session: text('session'),
  },
  (t) => [
    primaryKey({ columns: [t.log, t.index] }),
    index('audit_records_actor_idx').on(t.log, t.actorId),
    index('audit_records_session_idx').on(t.log, t.session).where(sql`session IS NOT NULL`),
  ],
);

/** Every complete, aligned subtree hash: node (level, idx) covers leaves [idx·2^level, (idx+1)·2^level). */
export const auditNodes = sqliteTable(
  'audit_nodes',
  {
    log: text('log').notNull(),
    level: integer('level').notNull(),
    index: integer('idx').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.log, t.level, t.index] })],
);

/** Audit signing keys, current and retired: old records stay verifiable after a rotation. */
export const auditKeys = sqliteTable('audit_keys', {
  kid: text('kid').primaryKey(),
  publicJwk: text('public_jwk').notNull(),
  /** `approved`: a second admin approved it as the next key (governance/audit-keys/audit-keys.service.ts); it becomes active when a Worker first signs with it. */
  state: text('state', { enum: ['approved', 'active', 'retired'] }).notNull(),
  activatedAt: text('activated_at').notNull(),
  retiredAt: text('retired_at'),
});
