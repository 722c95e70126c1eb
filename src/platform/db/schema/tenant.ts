/** What tenants hold: toolstacks, disks, every version of every page and block, snapshots, wrapped keys (docs/design.md §2–§4). */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { timestamps } from './columns';
import { tenants } from './provider';

/**
 * Tenant-held toolstacks (docs/design.md §2): a public key, a scope ceiling and an
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
    state: text('state', { enum: ['active', 'revoked'] })
      .notNull()
      .default('active'),
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
  (t) => [
    uniqueIndex('disks_tenant_name_uq').on(t.tenantId, t.name),
    index('disks_tenant_size_idx').on(t.tenantId, t.sizeGiB),
    index('disks_vm_idx').on(t.vmId),
  ],
);

/**
 * Every version ever written of a memory page or disk block: ciphertext
 * envelopes only (docs/design.md §4), stored as BLOBs (migration 0021). Versions are
 * retained so a tenant can fetch exactly what a logged read returned, and so
 * recovery can roll a page back. `origin` names a server-side copy's source
 * (`snapshot:<id>@<version>`), for taint tracking (docs/design.md §6 rule 3).
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
    /**
     * The envelope's bytes, a BLOB. Declared TEXT as before: TEXT affinity keeps a BLOB a BLOB, and a new
     * declaration would rebuild the table. Bound as `unhex(?)`, read as `hex(envelope)` (content-statements.ts says why).
     */
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
