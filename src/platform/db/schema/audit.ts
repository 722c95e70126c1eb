/** The audit logs (docs/design.md §5): heads, records, tree nodes, signing keys. */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

// Audit log (docs/design.md §5). One log per tenant (`tenants/<id>`) and one for the
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
    /** The request's session: its token's `sid` claim, else its `jti` (recovery seeds and taint, docs/design.md §6). */
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
  /** The change request that approved this key (null for a deployment's first key). */
  changeId: text('change_id'),
  /** The approval's record in the provider log. */
  approvalIndex: integer('approval_index'),
  /**
   * The hand-over checkpoint to this key (audit/signing/key-handover.ts): the
   * provider log's checkpoint covering the approval, naming this key, signed
   * by the key it succeeds when approved and by this key when it activates.
   */
  handover: text('handover'),
});

/**
 * Notices not yet delivered (docs/design.md §5, issue 17): a record that other logs
 * must also carry — a change request's step in each affected tenant's log —
 * leaves one row per other log here, in the SAME batch as the record itself.
 * Delivery (audit/log/notices.ts) appends the notice to the other log and then
 * deletes the row; a crash in between leaves the row, and the next delivery
 * finishes it. So a committed step can never be missing from a tenant's log
 * for longer than it takes someone to read that log.
 */
export const auditNoticeOutbox = sqliteTable(
  'audit_notice_outbox',
  {
    /** The primary record: its log and index. */
    log: text('log').notNull(),
    index: integer('idx').notNull(),
    /** The log that must carry the notice. */
    targetLog: text('target_log').notNull(),
    /** The notice's record draft (JSON), naming the primary record in `details.primary`. */
    draft: text('draft').notNull(),
    createdAt: text('created_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  },
  (t) => [primaryKey({ columns: [t.log, t.index, t.targetLog] }), index('audit_notice_outbox_target_idx').on(t.targetLog)],
);

/**
 * One row per delivered notice, written in the notice's own batch: a second
 * delivery of the same notice (two readers finishing it at once, or a retry
 * after a crash that followed the append) violates the key and appends
 * nothing, so each notice is in its log exactly once.
 */
export const auditNoticeReceipts = sqliteTable(
  'audit_notice_receipts',
  {
    primaryLog: text('primary_log').notNull(),
    primaryIndex: integer('primary_idx').notNull(),
    targetLog: text('target_log').notNull(),
  },
  (t) => [primaryKey({ columns: [t.primaryLog, t.primaryIndex, t.targetLog] })],
);

/**
 * Checkpoints cosigned by witnesses (C2SP tlog-cosignature;
 * audit/witnessing): the log's signed checkpoint at `size` with every
 * cosignature collected for it. A few recent sizes per log are kept, so a
 * verifier demanding k cosignatures gets the newest checkpoint that has them
 * even while one witness lags.
 */
export const auditCosigned = sqliteTable(
  'audit_cosigned',
  {
    log: text('log').notNull(),
    size: integer('size').notNull(),
    /** The signed note: the log's signature, then the witnesses' cosignatures. */
    note: text('note').notNull(),
    cosignatures: integer('cosignatures').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.log, t.size] })],
);

/** A tenant's alert rules (audit/alerts): which of its log's records to push to a webhook as they commit. */
export const alertRules = sqliteTable(
  'alert_rules',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    /** `admin_attempt`, `labelled_read`, `toolstack_denied` or `access_use` (audit/alerts/alert-rules.ts). */
    kind: text('kind', { enum: ['admin_attempt', 'labelled_read', 'toolstack_denied', 'access_use'] }).notNull(),
    url: text('url').notNull(),
    createdAt: text('created_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  },
  (t) => [index('alert_rules_tenant_idx').on(t.tenantId)],
);

/** One row per (rule, record) matched: delivered once, retried with backoff until it is (audit/alerts/deliveries.ts). */
export const alertDeliveries = sqliteTable(
  'alert_deliveries',
  {
    ruleId: text('rule_id').notNull(),
    log: text('log').notNull(),
    auditIndex: integer('audit_index').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    deliveredAt: text('delivered_at'),
    lastError: text('last_error'),
  },
  (t) => [primaryKey({ columns: [t.ruleId, t.auditIndex] }), index('alert_deliveries_due_idx').on(t.nextAttemptAt).where(sql`delivered_at IS NULL`)],
);
