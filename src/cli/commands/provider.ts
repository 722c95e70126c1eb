/**
 * `custodes admin hosts|tenants|vms|databases`: provisioning, the provider's side
 * (docs/design.md §1). Significant operations answer a pending change request, which
 * a second admin approves (`custodes admin changes`).
 */
import type { Command } from 'commander';
import type { components } from '../../sdk/client';
import { publicKeyOf } from '../../sdk/keys';
import { action, adminClient, defined, listOutput, numberOption, one, readPublicJwk, withPaging, type Emit } from '../context';
import { table, type Column } from '../table';
import { isPendingChange, pendingChange } from './governance';

type Schemas = components['schemas'];

const HOST_COLUMNS: Column<Schemas['Host']>[] = [
  ['ID', (h) => h.id],
  ['NAME', (h) => h.name],
  ['STATE', (h) => h.state],
  ['VCPUS', (h) => `${h.allocated.vcpus}/${h.vcpus}`],
  ['MEMORY MiB', (h) => `${h.allocated.memoryMiB}/${h.memoryMiB}`],
  ['DISK GiB', (h) => h.diskGiB],
  ['VMS', (h) => h.allocated.vms],
];
const TENANT_COLUMNS: Column<Schemas['Tenant']>[] = [
  ['ID', (t) => t.id],
  ['NAME', (t) => t.name],
  ['STATE', (t) => t.state],
  ['VCPUS', (t) => `${t.usage.vcpus}/${t.quota.vcpus}`],
  ['MEMORY MiB', (t) => `${t.usage.memoryMiB}/${t.quota.memoryMiB}`],
  ['DISK GiB', (t) => t.quota.diskGiB],
  ['VMS', (t) => t.usage.vms],
  ['OWNER KID', (t) => t.ownerKid],
];
export const VM_COLUMNS: Column<Schemas['Vm']>[] = [
  ['ID', (v) => v.id],
  ['NAME', (v) => v.name],
  ['TENANT', (v) => v.tenant],
  ['HOST', (v) => v.host],
  ['STATE', (v) => v.state],
  ['VCPUS', (v) => v.vcpus],
  ['MEMORY MiB', (v) => v.memoryMiB],
];

interface Sizes {
  vcpus?: number;
  memoryMib?: number;
  diskGib?: number;
}
const sizeOptions = (command: Command, required: boolean, disk = true) => {
  command.addOption(numberOption('--vcpus <n>', 'vCPUs', required)).addOption(numberOption('--memory-mib <n>', 'memory in MiB', required));
  return disk ? command.addOption(numberOption('--disk-gib <n>', 'disk in GiB', required)) : command;
};

export function hostCommands(admin: Command, emit: Emit): void {
  const hosts = admin.command('hosts').description('provider capacity');
  action<Sizes & { name: string }>(
    sizeOptions(hosts.command('create').description('add a host').requiredOption('--name <name>', 'host name'), true),
    emit,
    async (_, o) =>
      one(
        (await adminClient(o).POST('/v1/admin/hosts', { body: { name: o.name, vcpus: o.vcpus!, memoryMiB: o.memoryMib!, diskGiB: o.diskGib! } })).data!,
        HOST_COLUMNS,
      ),
  );
  action(withPaging(hosts.command('list').description('list hosts')), emit, async (_, o) => {
    const api = adminClient(o);
    return listOutput(o, 'hosts', async (query) => (await api.GET('/v1/admin/hosts', { params: { query } })).data!, HOST_COLUMNS);
  });
  action(hosts.command('get').description('show a host').argument('<host>'), emit, async ([host], o) =>
    one((await adminClient(o).GET('/v1/admin/hosts/{host}', { params: { path: { host: host! } } })).data!, HOST_COLUMNS),
  );
  action<Sizes & { name?: string; activate?: boolean }>(
    sizeOptions(
      hosts
        .command('update')
        .description('resize, rename or reactivate a host')
        .argument('<host>')
        .option('--name <name>', 'new name')
        .option('--activate', 'return a drained host to service'),
      false,
    ),
    emit,
    async ([host], o) => {
      const body = {
        ...defined({ name: o.name, vcpus: o.vcpus, memoryMiB: o.memoryMib, diskGiB: o.diskGib }),
        ...(o.activate ? { state: 'active' as const } : {}),
      };
      return one((await adminClient(o).PATCH('/v1/admin/hosts/{host}', { params: { path: { host: host! } }, body })).data!, HOST_COLUMNS);
    },
  );
  action(hosts.command('drain').description('migrate every VM away (with VMs: a change request)').argument('<host>'), emit, async ([host], o) => {
    const report = (await adminClient(o).POST('/v1/admin/hosts/{host}:drain', { params: { path: { host: host! } } })).data!;
    if (isPendingChange(report)) return pendingChange(report);
    const moved = report.migrated.map((m) => `  moved ${m.vm}: ${m.from} → ${m.to}`);
    const stuck = report.stranded.map((s) => `  stranded ${s.vm}: ${s.reason}`);
    return { json: report, text: [`Host ${report.host.id} is ${report.host.state}.`, ...moved, ...stuck].join('\n') };
  });
  action(hosts.command('delete').description('remove an empty host').argument('<host>'), emit, async ([host], o) => {
    await adminClient(o).DELETE('/v1/admin/hosts/{host}', { params: { path: { host: host! } } });
    return { json: { deleted: host }, text: `Deleted host ${host}.` };
  });
}

const DATABASE_COLUMNS: Column<Schemas['Database']>[] = [
  ['BINDING', (d) => d.binding],
  ['HOLDS', (d) => d.holds.join('+')],
  ['TENANTS', (d) => d.tenants],
  ['VMS', (d) => d.vms],
  ['SIZE MB', (d) => (d.sizeBytes / 1e6).toFixed(1)],
  ['OF 10 GB', (d) => `${(100 * d.used).toFixed(2)}%`],
];

/** `custodes admin databases`: each D1 database's size against D1's 10 GB limit, and what it holds. */
export function databaseCommands(admin: Command, emit: Emit): void {
  action(admin.command('databases').description("how full the provider's D1 databases are (10 GB each at most)"), emit, async (_, o) => {
    const answer = (await adminClient(o).GET('/v1/admin/databases')).data!;
    return { json: answer, text: table(answer.databases, DATABASE_COLUMNS) };
  });
}

export function tenantAdminCommands(admin: Command, emit: Emit): void {
  const tenants = admin.command('tenants').description('tenants, their owner keys and quota slices');
  action<Sizes & { name: string; ownerKey: string }>(
    sizeOptions(
      tenants
        .command('create')
        .description('create a tenant')
        .requiredOption('--name <name>', 'tenant name')
        .requiredOption('--owner-key <file>', "the owner's public JWK file"),
      true,
    ),
    emit,
    async (_, o) => {
      const ownerKey = publicKeyOf(readPublicJwk(o.ownerKey, '--owner-key'));
      const body = { name: o.name, ownerKey: ownerKey as Schemas['PublicJwk'], quota: { vcpus: o.vcpus!, memoryMiB: o.memoryMib!, diskGiB: o.diskGib! } };
      return one((await adminClient(o).POST('/v1/admin/tenants', { body })).data!, TENANT_COLUMNS);
    },
  );
  action(withPaging(tenants.command('list').description('list tenants')), emit, async (_, o) => {
    const api = adminClient(o);
    return listOutput(o, 'tenants', async (query) => (await api.GET('/v1/admin/tenants', { params: { query } })).data!, TENANT_COLUMNS);
  });
  action(tenants.command('get').description('show a tenant').argument('<tenant>'), emit, async ([tenant], o) =>
    one((await adminClient(o).GET('/v1/admin/tenants/{tenant}', { params: { path: { tenant: tenant! } } })).data!, TENANT_COLUMNS),
  );
  action<Sizes & { name?: string }>(
    sizeOptions(
      tenants
        .command('update')
        .description('rename, or change the quota (below use: a change request)')
        .argument('<tenant>')
        .option('--name <name>', 'new name'),
      false,
    ),
    emit,
    async ([tenant], o) => {
      const quota = defined({ vcpus: o.vcpus, memoryMiB: o.memoryMib, diskGiB: o.diskGib });
      const body = { ...(o.name ? { name: o.name } : {}), ...(Object.keys(quota).length ? { quota } : {}) };
      const updated = (await adminClient(o).PATCH('/v1/admin/tenants/{tenant}', { params: { path: { tenant: tenant! } }, body })).data!;
      return isPendingChange(updated) ? pendingChange(updated) : one(updated, TENANT_COLUMNS);
    },
  );
  action(tenants.command('delete').description('delete a tenant (a change request)').argument('<tenant>'), emit, async ([tenant], o) =>
    pendingChange((await adminClient(o).DELETE('/v1/admin/tenants/{tenant}', { params: { path: { tenant: tenant! } } })).data!),
  );
}

export function vmAdminCommands(admin: Command, emit: Emit): void {
  const vms = admin.command('vms').description('VM placement, resize and migration (no route reaches guest contents)');
  action<Sizes & { tenant: string; name: string }>(
    sizeOptions(
      vms.command('create').description('place a VM for a tenant').requiredOption('--tenant <id>', 'the tenant').requiredOption('--name <name>', 'VM name'),
      true,
      false,
    ),
    emit,
    async (_, o) =>
      one(
        (
          await adminClient(o).POST('/v1/admin/tenants/{tenant}/vms', {
            params: { path: { tenant: o.tenant } },
            body: { name: o.name, vcpus: o.vcpus!, memoryMiB: o.memoryMib! },
          })
        ).data!,
        VM_COLUMNS,
      ),
  );
  action<{ tenant?: string; host?: string }>(
    withPaging(vms.command('list').description('list VMs').option('--tenant <id>', "only this tenant's").option('--host <id>', 'only on this host')),
    emit,
    async (_, o) => {
      const api = adminClient(o);
      return listOutput(
        o,
        'vms',
        async (page) => (await api.GET('/v1/admin/vms', { params: { query: { ...page, ...defined({ tenant: o.tenant, host: o.host }) } } })).data!,
        VM_COLUMNS,
      );
    },
  );
  action(vms.command('get').description('show a VM').argument('<vm>'), emit, async ([vm], o) =>
    one((await adminClient(o).GET('/v1/admin/vms/{vm}', { params: { path: { vm: vm! } } })).data!, VM_COLUMNS),
  );
  action<Sizes>(sizeOptions(vms.command('resize').description("change a VM's vCPUs or memory").argument('<vm>'), false, false), emit, async ([vm], o) =>
    one(
      (await adminClient(o).PATCH('/v1/admin/vms/{vm}', { params: { path: { vm: vm! } }, body: defined({ vcpus: o.vcpus, memoryMiB: o.memoryMib }) })).data!,
      VM_COLUMNS,
    ),
  );
  action<{ host?: string }>(
    vms.command('migrate').description('move a VM to another host').argument('<vm>').option('--host <id>', 'target host (default: placement picks)'),
    emit,
    async ([vm], o) => {
      const moved = (await adminClient(o).POST('/v1/admin/vms/{vm}:migrate', { params: { path: { vm: vm! } }, body: o.host ? { host: o.host } : {} })).data!;
      return { json: moved, text: `Migrated ${moved.vm.id}: ${moved.from} → ${moved.to}.` };
    },
  );
  action(vms.command('delete').description('delete a VM (a change request)').argument('<vm>'), emit, async ([vm], o) =>
    pendingChange((await adminClient(o).DELETE('/v1/admin/vms/{vm}', { params: { path: { vm: vm! } } })).data!),
  );
}
