/**
 * Draining a host: stop new placements, then live-migrate every VM elsewhere
 * (spread policy). The whole drain is planned in memory and committed as one
 * batch with one audit record; each move is guarded (`hostFits`, revision),
 * so a plan made stale by a concurrent request is refused whole and planned
 * again. VMs that fit nowhere stay and are reported; the host turns `drained`
 * only when empty, so a partial drain is visible, never silent.
 */
import { and, eq, sql } from 'drizzle-orm';
import { expectChanges, write, type Commit, type WriteStatement } from '../../audit/log/commit';
import { nextRevision, type Database } from '../../platform/db/client';
import { hosts, vms } from '../../platform/db/schema';
import { fail, ok, type Result } from '../../lib/result';
import { hostFits } from '../placement/capacity';
import { findHost, hostCapacities, type HostView } from './hosts.service';
import { forgetPlacementView } from '../placement/placement-view';
import { rankHosts } from '../placement/placement';

export interface DrainReport {
  host: HostView;
  migrated: { vm: string; tenant: string; from: string; to: string }[];
  stranded: { vm: string; reason: string }[];
}

const MAX_ATTEMPTS = 4;

export async function drainHost(db: Database, commit: Commit, hostId: string): Promise<Result<DrainReport, 'not_found' | 'precondition_failed'>> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (!(await findHost(db, hostId))) return fail('not_found', `Host ${hostId} does not exist.`);
    const resident = await db.select().from(vms).where(eq(vms.hostId, hostId)).orderBy(vms.id);
    const capacities = (await hostCapacities(db)).filter((h) => h.id !== hostId);

    const writes: WriteStatement[] = [
      write(
        db
          .update(hosts)
          .set({ state: 'draining', ...nextRevision(hosts.revision) })
          .where(and(eq(hosts.id, hostId), eq(hosts.state, 'active'))),
      ),
    ];
    const migrated: DrainReport['migrated'] = [];
    const stranded: DrainReport['stranded'] = [];
    for (const vm of resident) {
      const demand = { vcpus: vm.vcpus, memoryMiB: vm.memoryMiB };
      const [target] = rankHosts(capacities, demand);
      if (!target) {
        stranded.push({ vm: vm.id, reason: `no other active host has ${demand.vcpus} vCPUs and ${demand.memoryMiB} MiB free` });
        continue;
      }
      target.free = { vcpus: target.free.vcpus - demand.vcpus, memoryMiB: target.free.memoryMiB - demand.memoryMiB };
      migrated.push({ vm: vm.id, tenant: vm.tenantId, from: hostId, to: target.id });
      writes.push(
        write(
          db
            .update(vms)
            .set({ hostId: target.id, ...nextRevision(vms.revision) })
            .where(and(eq(vms.id, vm.id), eq(vms.revision, vm.revision), hostFits(target.id, demand))),
        ),
        expectChanges('vm.migrate'),
      );
    }
    writes.push(
      write(
        db
          .update(hosts)
          .set({ state: 'drained', ...nextRevision(hosts.revision) })
          .where(and(eq(hosts.id, hostId), eq(hosts.state, 'draining'), sql`NOT EXISTS (SELECT 1 FROM vms WHERE host_id = ${hostId})`)),
      ),
    );
    const committed = await commit(writes, { details: { migrated, stranded } });
    forgetPlacementView();
    if (committed.ok) return ok({ host: (await findHost(db, hostId))!, migrated, stranded });
    // Something moved meanwhile: plan again from a fresh read.
  }
  return fail('precondition_failed', `Host ${hostId} kept changing while draining; retry.`);
}
