/** Checks and balances (docs/design.md §7): registered admins, change requests, access requests. */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { timestamps } from './columns';

/**
 * Admins registered after bootstrap (the bootstrap admins live in env, docs/design.md §7).
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
    state: text('state', { enum: ['active', 'revoked'] })
      .notNull()
      .default('active'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('admins_kid_uq').on(t.kid)],
);

/**
 * Change requests (docs/design.md §7, governance/changes/two-person-rule.ts): significant admin
 * operations waiting for a second admin. `tenants`, `params` and `approvals`
 * are JSON. Every transition is guarded on `state = 'pending'` and `revision`.
 */
export const changeRequests = sqliteTable(
  'change_requests',
  {
    id: text('id').primaryKey(),
    operation: text('operation', {
      enum: ['tenant.delete', 'tenant.update', 'vm.delete', 'host.drain', 'admin.register', 'admin.roles', 'audit.rotate', 'bootstrap.reenable'],
    }).notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    tenants: text('tenants').notNull(),
    params: text('params').notNull(),
    requiredRole: text('required_role', { enum: ['provisioner', 'operator', 'auditor', 'security'] }).notNull(),
    targetRevision: integer('target_revision'),
    proposer: text('proposer').notNull(),
    approvals: text('approvals').notNull().default('[]'),
    state: text('state', { enum: ['pending', 'executed', 'failed', 'denied', 'cancelled', 'expired'] })
      .notNull()
      .default('pending'),
    decidedBy: text('decided_by'),
    failure: text('failure'),
    expiresAt: text('expires_at').notNull(),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [index('change_requests_state_idx').on(t.state, t.id)],
);

/** Provider access requests to a tenant's VM, decided by the tenant (docs/design.md §7, governance/access-requests/access-requests.service.ts). */
export const accessRequests = sqliteTable(
  'access_requests',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    vmId: text('vm_id').notNull(),
    operation: text('operation', { enum: ['snapshot.create'] }).notNull(),
    reasonCode: text('reason_code', {
      enum: ['customer_support', 'provider_review', 'incident_response', 'third_party_request', 'maintenance', 'legal_request'],
    }).notNull(),
    detail: text('detail').notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    requester: text('requester').notNull(),
    state: text('state', { enum: ['pending', 'approved', 'denied'] })
      .notNull()
      .default('pending'),
    /** Who decided: the tenant owner, its policy, or (break-glass, sealed) a second security admin. */
    decidedBy: text('decided_by'),
    /** Break-glass: proceeds on two security admins' word, not the tenant's. */
    breakGlass: integer('break_glass', { mode: 'boolean' }).notNull().default(false),
    /** A sealed legal request: its records reach the tenant's log as sealed records, revealed by this instant. */
    sealUntil: text('seal_until'),
    /** When a sealed request's records were revealed into the tenant's log (it is hidden from the tenant until then). */
    revealedAt: text('revealed_at'),
    validUntil: text('valid_until'),
    uses: integer('uses').notNull().default(0),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [index('access_requests_tenant_idx').on(t.tenantId, t.id)],
);

/**
 * Bootstrap keys re-enabled after their retirement (governance/admins/bootstrap-ceremony.ts):
 * a two-person change, for a bounded time.
 */
export const bootstrapReenables = sqliteTable('bootstrap_reenables', {
  adminId: text('admin_id').primaryKey(),
  until: text('until').notNull(),
  changeId: text('change_id').notNull(),
});

/** A tenant's access policy per reason (governance/access-policy): deny, require approval, or allow for at most N minutes. */
export const accessPolicies = sqliteTable(
  'access_policies',
  {
    tenantId: text('tenant_id').notNull(),
    reasonCode: text('reason_code').notNull(),
    decision: text('decision', { enum: ['deny', 'approve', 'allow'] }).notNull(),
    maxMinutes: integer('max_minutes'),
    ...timestamps,
  },
  (t) => [uniqueIndex('access_policies_uq').on(t.tenantId, t.reasonCode)],
);

/**
 * Sealed records (governance/access-requests/seals.ts): the full record a sealed access hides,
 * kept until it is revealed into the tenant's log. `hidden` is the record's canonical JSON;
 * its SHA-256 is the commitment the sealed record carries.
 */
export const sealedRecords = sqliteTable(
  'sealed_records',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    accessRequest: text('access_request').notNull(),
    sealedIndex: integer('sealed_index'),
    commitment: text('commitment').notNull(),
    hidden: text('hidden').notNull(),
    sealUntil: text('seal_until').notNull(),
    revealedIndex: integer('revealed_index'),
    ...timestamps,
  },
  (t) => [index('sealed_records_due_idx').on(t.revealedIndex, t.sealUntil)],
);
