/**
 * Every action an audit record can name (docs/design.md §5), as literals: grep any of
 * them to find the route that records it. Routes declare theirs through the
 * route factories (http/route-factories.ts), which accept only names
 * from this table; a test walks the routes and this table against each other.
 */
export const AUDITED_ACTIONS = [
  // Platform
  'health.read',
  'route.unknown', // a request no route matched (404, 405, 414)
  // Provider: capacity and placement
  'host.create', 'host.list', 'host.read', 'host.update', 'host.delete', 'host.drain',
  'tenant.create', 'tenant.list', 'tenant.read', 'tenant.update', 'tenant.delete',
  'vm.create', 'vm.list', 'vm.read', 'vm.resize', 'vm.migrate', 'vm.delete',
  // Tenant: power control, toolstacks, contents, disks, snapshots, wrapped keys
  'vm.start', 'vm.stop', 'vm.pause',
  'toolstack.create', 'toolstack.list', 'toolstack.read', 'toolstack.revoke', 'toolstack.update',
  'vm.memory.read', 'vm.memory.write', 'contents.purge',
  'disk.blocks.read', 'disk.blocks.write',
  'disk.create', 'disk.list', 'disk.read', 'disk.attach', 'disk.detach', 'disk.delete',
  'snapshot.create', 'snapshot.list', 'snapshot.read', 'snapshot.restore',
  'key.store', 'key.list', 'key.read', 'key.delete',
  // Recovery
  'label.put', 'label.list', 'label.read', 'label.delete',
  'exposure.read',
  'recovery.plan', 'recovery.list', 'recovery.read', 'recovery.apply', 'recovery.revert', 'recovery.rotate',
  // Governance
  'change.list', 'change.read', 'change.approve', 'change.deny', 'change.cancel',
  'admin.register', 'admin.list', 'admin.read', 'admin.roles', 'admin.disable', 'bootstrap.reenable',
  'access.request', 'access.list', 'access.read', 'access.approve', 'access.deny', 'access.use', 'access.unseal', 'access.policy.read', 'access.policy.set',
  // A sealed access's two halves in the tenant's log, written by the system (governance/access-requests/seals.ts)
  'access.sealed', 'access.reveal',
  'audit.key.propose', 'audit.key.read', 'audit.key.handovers.read', 'audit.witnesses.read',
  // Audit: reading the logs, and the records the logs write themselves
  'audit.checkpoint.read', 'audit.records.read', 'audit.stream.open',
  'alert.create', 'alert.list', 'alert.delete', 'alert.deliveries.list', 'audit.proof.read', 'audit.receipt.open',
  'audit.key.activate', // the first request served with a newly approved audit key (audit/signing)
  'audit.refusals.summarize', // outsiders' refusals counted per window (audit/log/sequencer.ts)
  'deployment.statement', // the first request served by a build or configuration not yet on record (audit/deployment)
  'audit.deployments.read',
  'info.read',
  // Emulator mode only: the controls under /_emulator, each recorded in the provider log (src/emulator)
  'emulator.reset', 'emulator.seed', 'emulator.faults.set', 'emulator.clock.set', 'emulator.recorder.clear', 'emulator.state.import',
] as const;

export type AuditedAction = (typeof AUDITED_ACTIONS)[number];
