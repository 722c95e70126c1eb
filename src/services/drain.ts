/**
 * Draining a host: stop new placements, then live-migrate every VM elsewhere
 * (spread policy). VMs that fit nowhere stay and are reported; the host turns
 * `drained` only when empty, so a partial drain is visible, never silent.
 */
import type { Database } from '../db/client';
import { fail, ok, type Result } from '../lib/result';
import { completeDrain, cordonHost, type HostView } from './hosts';
import { listVms, migrateVm, type MigrationResult } from './vms';

export interface DrainReport {
  host: HostView;
  migrated: { vm: string; from: string; to: string }[];
  stranded: { vm: string; reason: string }[];
}

const DRAIN_PAGE = 100;

export async function drainHost(db: Database, hostId: string): Promise<Result<DrainReport, 'not_found'>> {
  const cordoned = await cordonHost(db, hostId);
  if (!cordoned.ok) return cordoned;

  const migrated: DrainReport['migrated'] = [];
  const stranded: DrainReport['stranded'] = [];
  let after: string | undefined;
  do {
    const page = await listVms(db, { after, limit: DRAIN_PAGE }, { host: hostId });
    for (const vm of page.items) {
      const moved: Result<MigrationResult> = await migrateVm(db, vm.id);
      if (moved.ok) migrated.push({ vm: vm.id, from: moved.value.from, to: moved.value.to });
      else if (moved.error.code !== 'not_found') stranded.push({ vm: vm.id, reason: moved.error.detail });
    }
    after = page.nextCursor;
  } while (after);

  const host = await completeDrain(db, hostId);
  if (!host) return fail('not_found', `Host ${hostId} was deleted while draining.`);
  return ok({ host, migrated, stranded });
}
