/**
 * A tenant's power control over its own VMs (`vm:control`): start, stop,
 * pause. A state change only — placement stays the provider's
 * (provider/vms/vms.service.ts), and contents are never touched.
 */
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import { NOT_YOURS } from '../../lib/problems';
import { fail, ok, type Result } from '../../lib/result';
import { nextRevision, type Database } from '../../platform/db/client';
import { vms } from '../../platform/db/schema';
import { atRevision, findVm, writeAtRevision, type VmView, type WriteFailure } from '../../provider/vms/vms.service';
import { imaging } from '../../recovery/objects/object-kinds';

export type PowerAction = 'start' | 'stop' | 'pause';

/** The states each power action may start from, and where it leads (the tenant's own control, `vm:control`). */
const POWER: Record<PowerAction, { from: VmView['state'][]; to: VmView['state'] }> = {
  start: { from: ['stopped', 'paused'], to: 'running' },
  stop: { from: ['running', 'paused'], to: 'stopped' },
  pause: { from: ['running'], to: 'paused' },
};

/** Powers tenant `tenant`'s VM `id`; another tenant's VM is as absent as a made-up id. */
export async function powerVm(
  db: Database,
  commit: Commit,
  tenant: string,
  id: string,
  action: PowerAction,
): Promise<Result<VmView, WriteFailure | 'invalid_state'>> {
  const { from, to } = POWER[action];
  const changed = await writeAtRevision<WriteFailure | 'invalid_state'>(db, id, undefined, async (vm) => {
    if (vm.tenant !== tenant) return fail('not_found', NOT_YOURS);
    if (!from.includes(vm.state)) return fail('invalid_state', `VM ${id} is ${vm.state}; ${action} needs it ${from.join(' or ')}.`, { state: vm.state });
    const update = db
      .update(vms)
      .set({ state: to, ...nextRevision(vms.revision) })
      .where(atRevision(vm));
    const committed = await commit([write(update), expectChanges(`vm.${action}`)], { details: { from: vm.state, to }, objects: [imaging('vm-power', id)] });
    return ok(committed.ok);
  });
  if (!changed.ok && changed.error.code === 'not_found') return fail('not_found', NOT_YOURS); // gone meanwhile, or never there
  return changed.ok ? ok((await findVm(db, id))!) : changed;
}
