/**
 * Labels (docs/design.md §6): a tenant's names for the sensitive regions of a VM's
 * memory or a disk ("tls-key" = memory pages 256–259 of vm_…). The exposure
 * report is organised by label. A label is the tenant's own bookkeeping: the
 * provider learns which pages the tenant cares about, never what they hold.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import { regionInReach, type VmReach } from '../../auth/vm-reach';
import type { Database } from '../../platform/db/client';
import { labels } from '../../platform/db/schema';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import { contentResource, type Space } from '../../tenant/contents/contents.service';
import { NOT_YOURS } from '../../lib/problems';
import { imaging } from '../objects/object-kinds';

export interface LabelInput {
  space: Space;
  /** The VM (memory) or disk the region is in. */
  resource: string;
  start: number;
  count: number;
}

/** Where a region is, as the API names it (docs/design.md §8): memory of a `vm`, or a `disk`. */
export type RegionOwner = { space: 'memory'; vm: string } | { space: 'disk'; disk: string };

export const regionOwner = (space: Space, resource: string): RegionOwner => (space === 'memory' ? { space, vm: resource } : { space, disk: resource });

export type LabelView = { name: string; tenant: string; start: number; count: number; revision: number; createdAt: string; updatedAt: string } & RegionOwner;

const toView = (row: typeof labels.$inferSelect): LabelView => ({
  name: row.name,
  tenant: row.tenantId,
  ...regionOwner(row.space, row.resourceId),
  start: row.start,
  count: row.count,
  revision: row.revision,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** Creates or replaces the label `name`; answers whether it was created. */
export async function putLabel(
  db: Database,
  commit: Commit,
  tenant: string,
  name: string,
  input: LabelInput,
): Promise<Result<{ label: LabelView; created: boolean }, 'not_found' | 'vm_not_allowed' | 'index_out_of_range'>> {
  const resource = await contentResource(db, tenant, input.space, input.resource);
  if (!resource.ok) return resource;
  if (input.start + input.count > resource.value.pages) {
    return fail('index_out_of_range', `${input.resource} has ${resource.value.pages} pages; ${input.start}+${input.count} reaches past the end.`, {
      pages: resource.value.pages,
    });
  }
  const [before] = await db
    .select({ revision: labels.revision })
    .from(labels)
    .where(and(eq(labels.tenantId, tenant), eq(labels.name, name)));
  const upsert = write(sql`
    INSERT INTO labels (tenant_id, name, space, resource_id, start, count) VALUES (${tenant}, ${name}, ${input.space}, ${input.resource}, ${input.start}, ${input.count})
    ON CONFLICT (tenant_id, name) DO UPDATE SET space = excluded.space, resource_id = excluded.resource_id, start = excluded.start, count = excluded.count,
      revision = revision + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`);
  const committed = await commit([upsert], { target: { type: 'label', id: name }, details: { ...input }, objects: [imaging('label', tenant, name)] });
  if (!committed.ok) throw new Error(committed.message);
  const label = await getLabel(db, tenant, name);
  if (!label.ok) throw new Error(`label ${name} vanished after its write`);
  return ok({ label: label.value, created: !before });
}

export async function getLabel(db: Database, tenant: string, name: string): Promise<Result<LabelView, 'not_found'>> {
  return found(
    await firstOf(
      db
        .select()
        .from(labels)
        .where(and(eq(labels.tenantId, tenant), eq(labels.name, name))),
      toView,
    ),
    NOT_YOURS,
  );
}

/** One page of the labels over regions in `reach`, by name (keyset on the name). */
export async function listLabels(db: Database, tenant: string, page: PageRequest, reach: VmReach): Promise<Page<LabelView>> {
  return keysetPage(
    (after) =>
      db
        .select()
        .from(labels)
        .where(and(eq(labels.tenantId, tenant), regionInReach(reach, labels.space, labels.resourceId), after)),
    {
      key: labels.name,
      page,
      view: toView,
      cursor: (label) => label.name,
    },
  );
}

export async function deleteLabel(db: Database, commit: Commit, tenant: string, name: string): Promise<Result<{ name: string }, 'not_found'>> {
  const committed = await commit([write(db.delete(labels).where(and(eq(labels.tenantId, tenant), eq(labels.name, name)))), expectChanges('label.delete')], {
    target: { type: 'label', id: name },
    objects: [imaging('label', tenant, name)],
  });
  return committed.ok ? ok({ name }) : fail('not_found', NOT_YOURS);
}
