/**
 * The D1 schema. Capacity figures (a host's allocation, a tenant's usage) are
 * derived from `vms` with SUM() rather than stored as counters: a counter is
 * one more thing a concurrent writer can get wrong, and the guarded INSERT /
 * UPDATE statements in the services re-derive them atomically anyway.
 *
 * Every mutable resource carries `revision`, bumped on each write; it is the
 * ETag and the guard for optimistic concurrency (`WHERE revision = ?`).
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const timestamps = {
  createdAt: text('created_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  updatedAt: text('updated_at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
};

export const hosts = sqliteTable(
  'hosts',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    vcpus: integer('vcpus').notNull(),
    memoryMiB: integer('memory_mib').notNull(),
    diskGiB: integer('disk_gib').notNull(),
    /** active: takes placements; draining/drained: takes none (see services/hosts drain). */
    state: text('state', { enum: ['active', 'draining', 'drained'] }).notNull().default('active'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('hosts_name_uq').on(t.name)],
);

export const tenants = sqliteTable(
  'tenants',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    ownerKid: text('owner_kid').notNull(),
    /** The owner's public JWK, canonical JSON. The private half never reaches us. */
    ownerJwk: text('owner_jwk').notNull(),
    quotaVcpus: integer('quota_vcpus').notNull(),
    quotaMemoryMiB: integer('quota_memory_mib').notNull(),
    quotaDiskGiB: integer('quota_disk_gib').notNull(),
    state: text('state', { enum: ['active', 'suspended'] }).notNull().default('active'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('tenants_name_uq').on(t.name), uniqueIndex('tenants_owner_kid_uq').on(t.ownerKid)],
);

export const vms = sqliteTable(
  'vms',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    hostId: text('host_id')
      .notNull()
      .references(() => hosts.id),
    name: text('name').notNull(),
    vcpus: integer('vcpus').notNull(),
    memoryMiB: integer('memory_mib').notNull(),
    state: text('state', { enum: ['running', 'stopped', 'paused'] }).notNull().default('running'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('vms_tenant_name_uq').on(t.tenantId, t.name),
    // Covering indexes: the capacity SUM()s (services/capacity.ts) read only these.
    index('vms_host_alloc_idx').on(t.hostId, t.vcpus, t.memoryMiB),
    index('vms_tenant_alloc_idx').on(t.tenantId, t.vcpus, t.memoryMiB),
  ],
);

/**
 * Tenant-held toolstacks (DESIGN §2): a public key, a scope ceiling and an
 * optional VM list. Their tokens may ask for less, never more. Revocation is a
 * state change, so old audit records still name a toolstack that exists.
 */
export const toolstacks = sqliteTable(
  'toolstacks',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    kid: text('kid').notNull(),
    jwk: text('jwk').notNull(),
    /** JSON array of tenant scopes: the ceiling. */
    scopes: text('scopes').notNull(),
    /** JSON array of VM ids, or null for every VM of the tenant. */
    vms: text('vms'),
    state: text('state', { enum: ['active', 'revoked'] }).notNull().default('active'),
    revokedAt: text('revoked_at'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('toolstacks_kid_uq').on(t.kid), uniqueIndex('toolstacks_tenant_name_uq').on(t.tenantId, t.name)],
);

/** Tenant disks: sized against the tenant's diskGiB slice, attached to at most one VM. */
export const disks = sqliteTable(
  'disks',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    sizeGiB: integer('size_gib').notNull(),
    vmId: text('vm_id'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('disks_tenant_name_uq').on(t.tenantId, t.name), index('disks_tenant_size_idx').on(t.tenantId, t.sizeGiB), index('disks_vm_idx').on(t.vmId)],
);

/**
 * Every version ever written of a memory page or disk block: ciphertext
 * envelopes only (DESIGN §4), base64 as the API carries them. Versions are
 * retained so a tenant can fetch exactly what a logged read returned, and so
 * recovery can roll a page back. `origin` names a server-side copy's source
 * (`snapshot:<id>@<version>`), for taint tracking (DESIGN §6 rule 3).
 */
export const contentVersions = sqliteTable(
  'content_versions',
  {
    space: text('space', { enum: ['memory', 'disk'] }).notNull(),
    /** VM id (memory) or disk id. */
    resourceId: text('resource_id').notNull(),
    index: integer('idx').notNull(),
    version: integer('version').notNull(),
    tenantId: text('tenant_id').notNull(),
    /** `sha256:` + hex of the envelope bytes. */
    digest: text('digest').notNull(),
    envelope: text('envelope').notNull(),
    origin: text('origin'),
    createdAt: timestamps.createdAt,
  },
  (t) => [primaryKey({ columns: [t.space, t.resourceId, t.index, t.version] })],
);

/** The current version of each written page or block; absent means never written (reads as zeros). */
export const contentHeads = sqliteTable(
  'content_heads',
  {
    space: text('space', { enum: ['memory', 'disk'] }).notNull(),
    resourceId: text('resource_id').notNull(),
    index: integer('idx').notNull(),
    version: integer('version').notNull(),
  },
  (t) => [primaryKey({ columns: [t.space, t.resourceId, t.index] })],
);

/** A snapshot holds references to versions (no copy, no decryption). */
export const snapshots = sqliteTable(
  'snapshots',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    vmId: text('vm_id').notNull(),
    name: text('name').notNull(),
    createdAt: timestamps.createdAt,
  },
  (t) => [uniqueIndex('snapshots_tenant_name_uq').on(t.tenantId, t.name), index('snapshots_vm_idx').on(t.vmId)],
);

export const snapshotItems = sqliteTable(
  'snapshot_items',
  {
    snapshotId: text('snapshot_id').notNull(),
    space: text('space', { enum: ['memory', 'disk'] }).notNull(),
    resourceId: text('resource_id').notNull(),
    index: integer('idx').notNull(),
    version: integer('version').notNull(),
  },
  (t) => [primaryKey({ columns: [t.snapshotId, t.space, t.resourceId, t.index] })],
);

/** Opaque wrapped data keys (JWE made by the tenant); the provider cannot unwrap them. */
export const wrappedKeys = sqliteTable(
  'wrapped_keys',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    wrapped: text('wrapped').notNull(),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('wrapped_keys_tenant_name_uq').on(t.tenantId, t.name)],
);

// ---------------------------------------------------------------------------
// Exposure and recovery (DESIGN §6).

/** Named sensitive regions of a VM's memory or a disk: what the exposure report is about. */
export const labels = sqliteTable(
  'labels',
  {
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    space: text('space', { enum: ['memory', 'disk'] }).notNull(),
    resourceId: text('resource_id').notNull(),
    start: integer('start').notNull(),
    count: integer('count').notNull(),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);

/**
 * The information-flow index: one row per page version an allowed action read
 * or wrote, written by the log's sequencer in the same batch as the action's
 * record (so it can neither miss nor invent an action), copied from the
 * record's `regions`. `copyOf` names the version a server-side copy
 * (snapshot restore) came from. Its indexes are what make the taint closure
 * O(footprint): readers and copies of a version, a session's later writes,
 * and a label's range of reads.
 */
export const contentFlows = sqliteTable(
  'content_flows',
  {
    log: text('log').notNull(),
    auditIndex: integer('audit_index').notNull(),
    kind: text('kind', { enum: ['read', 'write'] }).notNull(),
    space: text('space', { enum: ['memory', 'disk'] }).notNull(),
    resourceId: text('resource_id').notNull(),
    index: integer('idx').notNull(),
    version: integer('version').notNull(),
    copyOf: integer('copy_of'),
    jti: text('jti'),
    /** The token's `sid` claim, else its `jti`: tokens are single-use, a session spans many. */
    session: text('session'),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    time: text('time').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.log, t.auditIndex, t.kind, t.space, t.resourceId, t.index] }),
    index('content_flows_version_idx').on(t.space, t.resourceId, t.index, t.version, t.kind),
    index('content_flows_copy_idx').on(t.space, t.resourceId, t.index, t.copyOf).where(sql`copy_of IS NOT NULL`),
    index('content_flows_session_idx').on(t.log, t.session, t.auditIndex).where(sql`session IS NOT NULL`),
    index('content_flows_range_idx').on(t.log, t.kind, t.space, t.resourceId, t.index),
  ],
);

/**
 * Recovery plans (DESIGN §6): what was asked (`request`), what the planner
 * found (`result`: tainted actions, per-page changes, disclosures, conflicts),
 * and where the plan stands. Applying and reverting are revision-guarded
 * state transitions, so each happens at most once.
 */
export const recoveryPlans = sqliteTable(
  'recovery_plans',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    mode: text('mode', { enum: ['undo', 'replay'] }).notNull(),
    request: text('request').notNull(),
    result: text('result').notNull(),
    state: text('state', { enum: ['planned', 'applied', 'reverted'] }).notNull().default('planned'),
    /** Log size when planned: the plan covers records [0, size). */
    logSize: integer('log_size').notNull(),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [index('recovery_plans_tenant_idx').on(t.tenantId, t.id)],
);

/**
 * Versions an applied plan rolled back: later plans never roll a page forward
 * onto one of them again. Reverting the plan deletes its rows.
 */
export const undoneVersions = sqliteTable(
  'undone_versions',
  {
    space: text('space', { enum: ['memory', 'disk'] }).notNull(),
    resourceId: text('resource_id').notNull(),
    index: integer('idx').notNull(),
    version: integer('version').notNull(),
    planId: text('plan_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.space, t.resourceId, t.index, t.version, t.planId] }), index('undone_versions_plan_idx').on(t.planId)],
);

/**
 * Admins registered after bootstrap (the bootstrap admins live in env, DESIGN §7).
 * `roles` is a JSON array of role names.
 */
export const admins = sqliteTable(
  'admins',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull().default(''),
    kid: text('kid').notNull(),
    jwk: text('jwk').notNull(),
    roles: text('roles').notNull(),
    state: text('state', { enum: ['active', 'revoked'] }).notNull().default('active'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('admins_kid_uq').on(t.kid)],
);

/**
 * Change requests (DESIGN §7, services/changes.ts): significant admin
 * operations waiting for a second admin. `tenants`, `params` and `approvals`
 * are JSON. Every transition is guarded on `state = 'pending'` and `revision`.
 */
export const changeRequests = sqliteTable(
  'change_requests',
  {
    id: text('id').primaryKey(),
    operation: text('operation', { enum: ['tenant.delete', 'tenant.update', 'vm.delete', 'host.drain', 'admin.register', 'admin.roles', 'audit.rotate'] }).notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    tenants: text('tenants').notNull(),
    params: text('params').notNull(),
    requiredRole: text('required_role', { enum: ['provisioner', 'operator', 'auditor', 'security'] }).notNull(),
    targetRevision: integer('target_revision'),
    proposer: text('proposer').notNull(),
    approvals: text('approvals').notNull().default('[]'),
    state: text('state', { enum: ['pending', 'executed', 'failed', 'denied', 'cancelled', 'expired'] }).notNull().default('pending'),
    decidedBy: text('decided_by'),
    failure: text('failure'),
    expiresAt: text('expires_at').notNull(),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [index('change_requests_state_idx').on(t.state, t.id)],
);

/** Provider access requests to a tenant's VM, decided by the tenant (DESIGN §7, services/access-requests.ts). */
export const accessRequests = sqliteTable(
  'access_requests',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    vmId: text('vm_id').notNull(),
    operation: text('operation', { enum: ['snapshot.create'] }).notNull(),
    reasonCode: text('reason_code', { enum: ['support_case', 'incident_response', 'legal_request', 'maintenance'] }).notNull(),
    detail: text('detail').notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    requester: text('requester').notNull(),
    state: text('state', { enum: ['pending', 'approved', 'denied'] }).notNull().default('pending'),
    validUntil: text('valid_until'),
    uses: integer('uses').notNull().default(0),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [index('access_requests_tenant_idx').on(t.tenantId, t.id)],
);

/** Seen token ids, kept until the token expires: RFC 8725 §3.10 / DESIGN §2 replay defence. */
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
 * A row is claimed (`state = 'pending'`) before the handler runs so that a
 * concurrent duplicate gets 409 instead of executing twice.
 */
export const idempotencyRecords = sqliteTable(
  'idempotency_records',
  {
    principalId: text('principal_id').notNull(),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    state: text('state', { enum: ['pending', 'complete'] }).notNull(),
    status: integer('status'),
    headers: text('headers'),
    body: text('body'),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.principalId, t.key] }), index('idempotency_exp_idx').on(t.expiresAt)],
);

// ---------------------------------------------------------------------------
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
  /** `approved`: a second admin approved it as the next key (services/audit-keys.ts); it becomes active when a Worker first signs with it. */
  state: text('state', { enum: ['approved', 'active', 'retired'] }).notNull(),
  activatedAt: text('activated_at').notNull(),
  retiredAt: text('retired_at'),
});

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
