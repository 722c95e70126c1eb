/** Exposure and recovery (docs/design.md §6): labels, the information-flow index, plans and what they undid. */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timestamps } from './columns';

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
 * O(footprint): readers and copies of a version, and a label's range of
 * reads. (A session's later writes come from audit_records' session index.)
 */
export const contentFlows = sqliteTable(
  'content_flows',
  {
    log: text('log').notNull(),
    auditIndex: integer('audit_index').notNull(),
    /** `clear`: a restore set the page unwritten (version 0). */
    kind: text('kind', { enum: ['read', 'write', 'clear'] }).notNull(),
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
    // Reads by page range, for the exposure report; only reads (a page write's 64 flow rows skip it).
    index('content_flows_read_range_idx').on(t.log, t.space, t.resourceId, t.index).where(sql`kind = 'read'`),
  ],
);

/**
 * Recovery plans (docs/design.md §6): what was asked (`request`), what the planner
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
    state: text('state', { enum: ['planned', 'applied', 'reverted'] })
      .notNull()
      .default('planned'),
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
 * The object-history index: for every allowed action that changed a tenant
 * object other than contents — a toolstack, a wrapped key, a label, a disk, a
 * snapshot, a VM's power state — the object's row image before and after the
 * action (JSON; NULL where there was no row), written by the log's sequencer
 * in the action's own batch (recovery/objects/object-kinds.ts says how each
 * kind is imaged). Undo restores each object a tainted action touched to its
 * image after the latest untainted action (or before the first), exactly;
 * revert puts back the image the plan found.
 */
export const objectHistory = sqliteTable(
  'object_history',
  {
    log: text('log').notNull(),
    auditIndex: integer('audit_index').notNull(),
    /** `<kind>:<key>`, e.g. `label:["ten_…","tls-key"]`. */
    object: text('object').notNull(),
    before: text('before'),
    after: text('after'),
  },
  (t) => [primaryKey({ columns: [t.log, t.auditIndex, t.object] }), index('object_history_object_idx').on(t.log, t.object, t.auditIndex)],
);

/**
 * Rotations after an exposure: the tenant re-sealed what a label's region
 * held under a new data key and retired the keys the exposed versions were
 * sealed with (their wrapped copies deleted in the same batch). The exposure
 * report marks each read of the label before its rotation "rotated at".
 */
export const labelRotations = sqliteTable(
  'label_rotations',
  {
    tenantId: text('tenant_id').notNull(),
    label: text('label').notNull(),
    rotation: text('rotation').notNull(),
    rotatedAt: text('rotated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.label, t.rotation] })],
);
