/**
 * What a reference covers, for the VM-reach rule (auth/vm-reach.ts): resolves
 * disks, snapshots, labels and recovery plans to the VMs they touch, in at
 * most two D1 round trips, and says which references fall outside a reach.
 * Only VM-limited principals pay for it; a reference to nothing that exists
 * is left for the handler to answer 404.
 */
import { sql, type SQL } from 'drizzle-orm';
import { write } from '../audit/log/commit';
import { reaches, type VmReach } from './vm-reach';
import type { Database } from '../platform/db/client';
import type { Space } from '../tenant/contents/contents.service';

export type Reference =
  | { kind: 'vm'; id: string }
  | { kind: 'disk'; id: string }
  | { kind: 'snapshot'; id: string }
  | { kind: 'label'; name: string }
  | { kind: 'plan'; id: string }
  | { kind: 'region'; space: Space; resource: string };

type Region = { space: Space; resource: string };

/**
 * The regions a stored recovery plan touches: the pages it changes, the
 * versions it treats as tainted and the reads it lists as disclosures.
 */
export const planRegionSources = (result: SQL | { getSQL(): SQL }) => [
  { from: sql`json_each(${result}, '$.changes') r`, space: sql`r.value ->> 'space'`, resource: sql`r.value ->> 'target'` },
  { from: sql`json_each(${result}, '$.taintedVersions') r`, space: sql`r.value ->> 'space'`, resource: sql`r.value ->> 'resource'` },
  {
    from: sql`json_each(${result}, '$.disclosures') d, json_each(d.value, '$.pages') r`,
    space: sql`r.value ->> 'space'`,
    resource: sql`r.value ->> 'resource'`,
  },
];

/** The first reference outside `reach`, or null when all are inside (or do not exist). */
export async function firstOutsideReach(db: Database, tenant: string, reach: VmReach, references: readonly Reference[]): Promise<Reference | null> {
  if (reach.all) return null;
  const regionsOf = new Map<Reference, Region[]>();
  const lookups = references.map((ref) => {
    switch (ref.kind) {
      case 'vm':
        return sql`SELECT 'memory' AS space, ${ref.id} AS resource`;
      case 'region':
        return sql`SELECT ${ref.space} AS space, ${ref.resource} AS resource`;
      case 'disk':
        return sql`SELECT 'disk' AS space, id AS resource FROM disks WHERE id = ${ref.id} AND tenant_id = ${tenant}`;
      case 'snapshot':
        return sql`SELECT 'memory' AS space, vm_id AS resource FROM snapshots WHERE id = ${ref.id} AND tenant_id = ${tenant}`;
      case 'label':
        return sql`SELECT space, resource_id AS resource FROM labels WHERE tenant_id = ${tenant} AND name = ${ref.name}`;
      case 'plan':
        return sql.join(
          planRegionSources(sql`p.result`).map(
            (s) =>
              sql`SELECT ${s.space} AS space, ${s.resource} AS resource FROM recovery_plans p, ${s.from} WHERE p.id = ${ref.id} AND p.tenant_id = ${tenant}`,
          ),
          sql` UNION `,
        );
    }
    throw new Error(`no lookup for a ${(ref as Reference).kind} reference`);
  });
  // One round trip for every lookup (a read-only D1 batch).
  const results = lookups.length
    ? await db.$client.batch(
        lookups.map((query) => {
          const { sql: text, params } = write(query);
          return db.$client.prepare(text).bind(...params);
        }),
      )
    : [];
  for (const [i, ref] of references.entries()) regionsOf.set(ref, (results[i]?.results ?? []) as Region[]);

  // Disks reach as far as the VM they are attached to.
  const disks = [
    ...new Set(
      [...regionsOf.values()]
        .flat()
        .filter((r) => r.space === 'disk')
        .map((r) => r.resource),
    ),
  ];
  const attachedTo = new Map<string, string | null>();
  if (disks.length) {
    const found = await db.all<{ id: string; vm: string | null }>(
      sql`SELECT id, vm_id AS vm FROM disks WHERE tenant_id = ${tenant} AND id IN (SELECT value FROM json_each(${JSON.stringify(disks)}))`,
    );
    for (const { id, vm } of found) attachedTo.set(id, vm);
  }
  const inReach = ({ space, resource }: Region) => reaches(reach, space === 'memory' ? resource : (attachedTo.get(resource) ?? null));
  return references.find((ref) => !regionsOf.get(ref)!.every(inReach)) ?? null;
}

export const describeReference = (ref: Reference): string =>
  ref.kind === 'label'
    ? `Label ${JSON.stringify(ref.name)}`
    : ref.kind === 'region'
      ? `The ${ref.space} of ${ref.resource}`
      : `${ref.kind[0]!.toUpperCase()}${ref.kind.slice(1)} ${ref.id}`;
