/**
 * The tenant's side of `custodes`: keystore, toolstacks, VMs, encrypted
 * memory and disks, snapshots. Requests sign as the tenant owner (`--key`
 * OWNER_KEY, `--iss` defaulting to `--tenant`) or as a toolstack (`--iss
 * tsk_…`), which then asks for exactly the scope the command needs. Contents
 * are encrypted and decrypted here, with data keys wrapped under the local
 * keystore's KEK; the provider only ever sees envelopes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifiedRecords } from '../verified-log';
import type { components } from '../../sdk/client';
import type { Space } from '../../sdk/envelope';
import { GuestContents, latestWritesFromLog, type ContentTarget } from '../../sdk/guest-contents';
import { publicKeyOf } from '../../sdk/keys';
import { action, listOutput, numberOption, one, readPublicJwk, spaceList, withPaging, type Emit } from '../context';
import { tenantClient, tenantOptions, type TenantOptions } from '../tenant-context';
import { initKeystore, keystorePath, loadKeystore, saveKeystore } from '../keystore-file';
import { table, type Column } from '../table';
import { VM_COLUMNS as ADMIN_VM_COLUMNS } from './provider';

type Schemas = components['schemas'];

export function keystoreCommands(program: Command, emit: Emit): void {
  action(
    program
      .command('key')
      .description('the local keystore (--keystore)')
      .command('init')
      .description('create the keystore: a 256-bit key-encryption key that never leaves this machine'),
    emit,
    async (_, o) => {
      const path = keystorePath(o);
      await initKeystore(path);
      return {
        json: { keystore: path },
        text: `Created the keystore ${path}: a 256-bit key-encryption key that never leaves this machine. Back it up; without it your data cannot be decrypted.`,
      };
    },
  );
}

const TOOLSTACK_COLUMNS: Column<Schemas['Toolstack']>[] = [
  ['ID', (t) => t.id],
  ['NAME', (t) => t.name],
  ['STATE', (t) => t.state],
  ['SCOPES', (t) => t.scopes.join(' ')],
  ['VMS', (t) => t.vms?.join(',') ?? 'all'],
  ['KID', (t) => t.kid],
];

/** Managing toolstacks takes a tenant-wide token (scope `toolstacks` when a toolstack signs): `--vms` names the new toolstack's VMs, not the token's. */
const toolstackManager = (o: TenantOptions) => tenantClient({ ...o, vms: undefined }, ['toolstacks']);

export function toolstackCommands(program: Command, emit: Emit): void {
  const toolstacks = program.command('toolstack').description('tenant-held keys with a scope ceiling: the only way to guest contents');
  action<TenantOptions & { name: string; publicKey: string; scope: string[] }>(
    tenantOptions(toolstacks.command('create').description('register a toolstack key (--vms: the only VMs it may ever reach)'))
      .requiredOption('--name <name>', 'toolstack name')
      .requiredOption('--public-key <file>', 'its public JWK file')
      .requiredOption('--scope <scopes>', 'its ceiling, e.g. "memory:read memory:write"', spaceList),
    emit,
    async (_, o) => {
      const body = {
        name: o.name,
        publicKey: publicKeyOf(readPublicJwk(o.publicKey, '--public-key')) as Schemas['PublicJwk'],
        scopes: o.scope as Schemas['CreateToolstack']['scopes'],
        ...(o.vms ? { vms: o.vms } : {}),
      }; // --vms: the VMs it may ever reach
      const data = (await toolstackManager(o).POST('/v1/tenants/{tenant}/toolstacks', { params: { path: { tenant: o.tenant } }, body })).data!;
      return { json: data, text: `${table([data], TOOLSTACK_COLUMNS)}\nSign its requests with that key and --iss ${data.id}.` };
    },
  );
  action<TenantOptions>(withPaging(tenantOptions(toolstacks.command('list').description('list toolstacks'))), emit, async (_, o) => {
    const api = toolstackManager(o);
    return listOutput(
      o,
      'toolstacks',
      async (query) => (await api.GET('/v1/tenants/{tenant}/toolstacks', { params: { path: { tenant: o.tenant }, query } })).data!,
      TOOLSTACK_COLUMNS,
    );
  });
  action<TenantOptions>(
    tenantOptions(toolstacks.command('revoke').description('revoke a toolstack: its next request is refused').argument('<toolstack>')),
    emit,
    async ([toolstack], o) => {
      const data = (
        await toolstackManager(o).DELETE('/v1/tenants/{tenant}/toolstacks/{toolstack}', { params: { path: { tenant: o.tenant, toolstack: toolstack! } } })
      ).data!;
      return { json: data, text: `Revoked ${data.id}: its next request will be refused; its records stay in your log.` };
    },
  );
}

/** The admin's VM columns but the placement ones: a tenant sees its VMs, not the provider's hosts. */
const VM_COLUMNS = ADMIN_VM_COLUMNS.filter(([header]) => header !== 'TENANT' && header !== 'HOST');

export function vmCommands(program: Command, emit: Emit): void {
  const vms = program.command('vm').description('your VMs: list and power control');
  action<TenantOptions>(withPaging(tenantOptions(vms.command('list').description('list your VMs'))), emit, async (_, o) => {
    const api = tenantClient(o, ['vm:read']);
    return listOutput(
      o,
      'vms',
      async (query) => (await api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant: o.tenant }, query } })).data!,
      VM_COLUMNS,
    );
  });
  for (const verb of ['start', 'stop', 'pause'] as const) {
    action<TenantOptions>(tenantOptions(vms.command(verb).description(`${verb} a VM`).argument('<vm>')), emit, async ([vm], o) => {
      const api = tenantClient(o, ['vm:control']);
      const params = { params: { path: { tenant: o.tenant, vm: vm! } } };
      const { data } =
        verb === 'start'
          ? await api.POST('/v1/tenants/{tenant}/vms/{vm}:start', params)
          : verb === 'stop'
            ? await api.POST('/v1/tenants/{tenant}/vms/{vm}:stop', params)
            : await api.POST('/v1/tenants/{tenant}/vms/{vm}:pause', params);
      return one(data!, VM_COLUMNS);
    });
  }
}

interface ContentOptions extends TenantOptions {
  vm?: string;
  disk?: string;
  offset?: number;
}

/** `mem write|read` and `disk write|read`: the same commands over either space. */
function contentCommands(group: Command, emit: Emit, space: Space): void {
  const [resourceFlag, what] = space === 'memory' ? ['vm', 'the VM'] : ['disk', 'the disk'];
  const scopes =
    space === 'memory'
      ? { read: ['memory:read', 'keys'], write: ['memory:write', 'memory:read', 'keys'] }
      : { read: ['disk:read', 'keys'], write: ['disk:write', 'disk:read', 'keys'] };
  const contentOptions = (command: Command) =>
    tenantOptions(command).requiredOption(`--${resourceFlag} <id>`, what).addOption(numberOption('--offset <bytes>', 'byte offset (default 0)'));
  const contentsOf = (o: ContentOptions, verb: 'read' | 'write') => {
    const path = keystorePath(o);
    const contents = new GuestContents(tenantClient(o, scopes[verb]), loadKeystore(path), (keystore) => saveKeystore(path, keystore));
    // A page older than this keystore's own write of it: the verified log tells a recovery's rollback from a provider's.
    contents.latestFromLog = async (target) => {
      const records = await verifiedRecords(o, "checking a page older than this keystore's own write");
      return { latest: latestWritesFromLog(records, target), size: records.length };
    };
    return contents;
  };
  const targetOf = (o: ContentOptions): ContentTarget => ({ tenant: o.tenant, space, resource: (space === 'memory' ? o.vm : o.disk)! });
  action<ContentOptions & { file: string }>(
    contentOptions(group.command('write').description('encrypt a file here and write it')).requiredOption('--file <file>', 'the bytes to write'),
    emit,
    async (_, o) => {
      const data = new Uint8Array(readFileSync(o.file));
      const target = targetOf(o);
      const offset = o.offset ?? 0;
      const { pages, auditIndexes } = await contentsOf(o, 'write').write(target, offset, data);
      return {
        json: { bytes: data.length, pages, auditIndexes },
        text: `Wrote ${data.length} bytes (${pages} pages, encrypted here) to ${space} of ${target.resource} at offset ${offset}; audit records ${auditIndexes.join(', ')}.`,
      };
    },
  );
  action<ContentOptions & { length: number; out?: string; verifyFresh?: boolean }>(
    contentOptions(group.command('read').description('read and decrypt here'))
      .addOption(numberOption('--length <bytes>', 'how many bytes', true))
      .option('--out <file>', 'write them to a file (default: standard output)')
      .option('--verify-fresh', 'check each page against the latest write in your verified audit log'),
    emit,
    async (_, o) => {
      const target = targetOf(o);
      const records = o.verifyFresh ? await verifiedRecords(o, '--verify-fresh') : undefined;
      const latest = records ? latestWritesFromLog(records, target) : undefined;
      const data = await contentsOf(o, 'read').read(target, o.offset ?? 0, o.length, { latest, ...(records ? { logSize: records.length } : {}) });
      if (o.out) writeFileSync(o.out, data);
      const fresh = o.verifyFresh ? ', each page checked against the latest write in your verified audit log' : '';
      const json = { bytes: data.length, out: o.out ?? null, verifiedFresh: !!o.verifyFresh };
      return o.out ? { json, text: `Read ${data.length} bytes into ${o.out}${fresh}.` } : { json, text: '', raw: data };
    },
  );
  const unit = space === 'memory' ? 'page' : 'block';
  action<ContentOptions & { index: number; at: number; out?: string }>(
    tenantOptions(group.command('read-version').description(`read one exact past version of a ${unit} and decrypt it here (what its readers saw)`))
      .requiredOption(`--${resourceFlag} <id>`, what)
      .addOption(numberOption('--index <n>', `the ${unit}`, true))
      .addOption(numberOption('--at <version>', "its version (the exposure report names the versions read); not --version, which is the CLI's own", true))
      .option('--out <file>', `write the ${unit} to a file (default: standard output)`),
    emit,
    async (_, o) => {
      const data = await contentsOf(o, 'read').readVersion(targetOf(o), o.index, o.at);
      if (o.out) writeFileSync(o.out, data);
      const json = { index: o.index, version: o.at, bytes: data.length, out: o.out ?? null };
      return o.out ? { json, text: `Read version ${o.at} of ${unit} ${o.index} into ${o.out}.` } : { json, text: '', raw: data };
    },
  );
}

export function memoryCommands(program: Command, emit: Emit): void {
  contentCommands(program.command('mem').description('guest memory, encrypted here'), emit, 'memory');
}

const DISK_COLUMNS: Column<Schemas['Disk']>[] = [
  ['ID', (d) => d.id],
  ['NAME', (d) => d.name],
  ['SIZE GiB', (d) => d.sizeGiB],
  ['VM', (d) => d.vm ?? '-'],
];

export function diskCommands(program: Command, emit: Emit): void {
  const disks = program.command('disk').description('disks, their blocks encrypted here');
  action<TenantOptions & { name: string; sizeGib: number }>(
    tenantOptions(disks.command('create').description('create a disk'))
      .requiredOption('--name <name>', 'disk name')
      .addOption(numberOption('--size-gib <n>', 'size in GiB', true)),
    emit,
    async (_, o) =>
      one(
        (
          await tenantClient(o, ['disk:write']).POST('/v1/tenants/{tenant}/disks', {
            params: { path: { tenant: o.tenant } },
            body: { name: o.name, sizeGiB: o.sizeGib },
          })
        ).data!,
        DISK_COLUMNS,
      ),
  );
  action<TenantOptions>(withPaging(tenantOptions(disks.command('list').description('list disks'))), emit, async (_, o) => {
    const api = tenantClient(o, ['disk:read']);
    return listOutput(
      o,
      'disks',
      async (query) => (await api.GET('/v1/tenants/{tenant}/disks', { params: { path: { tenant: o.tenant }, query } })).data!,
      DISK_COLUMNS,
    );
  });
  action<TenantOptions & { vm: string }>(
    tenantOptions(disks.command('attach').description('attach a disk to a VM').argument('<disk>')).requiredOption('--vm <id>', 'the VM'),
    emit,
    async ([disk], o) =>
      one(
        (
          await tenantClient(o, ['disk:write']).POST('/v1/tenants/{tenant}/disks/{disk}:attach', {
            params: { path: { tenant: o.tenant, disk: disk! } },
            body: { vm: o.vm },
          })
        ).data!,
        DISK_COLUMNS,
      ),
  );
  action<TenantOptions>(tenantOptions(disks.command('detach').description('detach a disk').argument('<disk>')), emit, async ([disk], o) =>
    one(
      (await tenantClient(o, ['disk:write']).POST('/v1/tenants/{tenant}/disks/{disk}:detach', { params: { path: { tenant: o.tenant, disk: disk! } } })).data!,
      DISK_COLUMNS,
    ),
  );
  contentCommands(disks, emit, 'disk');
}

const SNAPSHOT_COLUMNS: Column<Schemas['Snapshot']>[] = [
  ['ID', (s) => s.id],
  ['NAME', (s) => s.name],
  ['VM', (s) => s.vm],
  ['PAGES', (s) => s.pages],
  ['DISKS', (s) => s.disks.join(',') || '-'],
  ['CREATED', (s) => s.createdAt],
];

export function snapshotCommands(program: Command, emit: Emit): void {
  const snapshots = program.command('snapshot').description('server-side snapshots, by reference to ciphertext versions');
  action<TenantOptions & { vm: string; name: string }>(
    tenantOptions(snapshots.command('create').description('snapshot a VM'))
      .requiredOption('--vm <id>', 'the VM')
      .requiredOption('--name <name>', 'snapshot name'),
    emit,
    async (_, o) =>
      one(
        (
          await tenantClient(o, ['snapshot']).POST('/v1/tenants/{tenant}/snapshots', {
            params: { path: { tenant: o.tenant } },
            body: { vm: o.vm, name: o.name },
          })
        ).data!,
        SNAPSHOT_COLUMNS,
      ),
  );
  action<TenantOptions & { vm?: string }>(
    withPaging(tenantOptions(snapshots.command('list').description('list snapshots')).option('--vm <id>', "only this VM's")),
    emit,
    async (_, o) => {
      const api = tenantClient(o, ['snapshot']);
      return listOutput(
        o,
        'snapshots',
        async (page) =>
          (await api.GET('/v1/tenants/{tenant}/snapshots', { params: { path: { tenant: o.tenant }, query: { ...page, ...(o.vm ? { vm: o.vm } : {}) } } }))
            .data!,
        SNAPSHOT_COLUMNS,
      );
    },
  );
  action<TenantOptions>(
    tenantOptions(snapshots.command('restore').description('restore a snapshot onto its VM').argument('<snapshot>')),
    emit,
    async ([snapshot], o) => {
      const data = (
        await tenantClient(o, ['snapshot']).POST('/v1/tenants/{tenant}/snapshots/{snapshot}:restore', {
          params: { path: { tenant: o.tenant, snapshot: snapshot! } },
        })
      ).data!;
      return {
        json: data,
        text: `Restored ${data.snapshot} onto ${data.vm}: ${data.pages.length} pages written as new versions (audit record ${data.auditIndex}).`,
      };
    },
  );
}
