/** Provider capacity and placement: hosts, tenants and their quota slices, VMs (docs/design.md §1). */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { timestamps } from './columns';

export const hosts = sqliteTable(
  'hosts',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    vcpus: integer('vcpus').notNull(),
    memoryMiB: integer('memory_mib').notNull(),
    diskGiB: integer('disk_gib').notNull(),
    /** active: takes placements; draining/drained: takes none (see provider/hosts/drain.service.ts). */
    state: text('state', { enum: ['active', 'draining', 'drained'] })
      .notNull()
      .default('active'),
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
    state: text('state', { enum: ['active', 'suspended'] })
      .notNull()
      .default('active'),
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
    state: text('state', { enum: ['running', 'stopped', 'paused'] })
      .notNull()
      .default('running'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('vms_tenant_name_uq').on(t.tenantId, t.name),
    // Covering indexes: the capacity SUM()s (provider/placement/capacity.ts) read only these.
    index('vms_host_alloc_idx').on(t.hostId, t.vcpus, t.memoryMiB),
    index('vms_tenant_alloc_idx').on(t.tenantId, t.vcpus, t.memoryMiB),
  ],
);

/**
 * What the VMs of each host and tenant add up to (`owner` = `host:<id>` or
 * `tenant:<id>`), kept by triggers on `vms` (drizzle/0015) in the very
 * statement that inserts, resizes, moves or deletes a VM — so no writer can
 * forget it and it cannot drift from the rows. Placement and quota guards read
 * it instead of SUM()ming a host's or a tenant's VMs, so their cost does not
 * grow with the fleet (bench/fleet.ts).
 */
export const vmAllocations = sqliteTable('vm_allocations', {
  owner: text('owner').primaryKey(),
  vcpus: integer('vcpus').notNull(),
  memoryMiB: integer('memory_mib').notNull(),
  vmCount: integer('vm_count').notNull(),
});
