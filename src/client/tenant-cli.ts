/**
 * The tenant's side of `custodes`: keystore, toolstacks, VMs, encrypted
 * memory and disks, snapshots. Requests sign as the tenant owner (`--key`
 * OWNER_KEY, `--iss` defaulting to `--tenant`) or as a toolstack (`--iss
 * tsk_…`), which then asks for exactly the scope the command needs. Contents
 * are encrypted and decrypted here, with data keys wrapped under the local
 * keystore's KEK; the provider only ever sees envelopes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { createApiClient, type ApiClient } from './api';
import { verifyAuditLog, type AuditSource } from './audit-verify';
import { auditApi, CustodesClient } from './sdk';
import type { Space } from './envelope';
import { GuestContents, latestWritesFromLog, type ContentTarget } from './guest-contents';
import { DEFAULT_KEYSTORE, initKeystore, loadKeystore, saveKeystore } from './keystore-file';
import { publicKeyOf } from './keys';
import { parallelRecordChecker } from './parallel-verify';
import { table } from './table';

export interface TenantContext {
  url: string;
  key: JWK;
  tenant: string;
  /** The signing principal: the owner (= tenant) or a toolstack. */
  principal: string;
  vms?: string[];
  keystorePath?: string;
}

export interface Output {
  json: unknown;
  text: string;
}

/** The scope each command needs when a toolstack signs it (an owner holds them all). */
const SCOPES: Record<string, string[]> = {
  'vm list': ['vm:read'],
  'vm start': ['vm:control'],
  'vm stop': ['vm:control'],
  'vm pause': ['vm:control'],
  'mem write': ['memory:write', 'memory:read', 'keys'],
  'mem read': ['memory:read', 'keys'],
  'disk create': ['disk:write'],
  'disk list': ['disk:read'],
  'disk attach': ['disk:write'],
  'disk detach': ['disk:write'],
  'disk write': ['disk:write', 'disk:read', 'keys'],
  'disk read': ['disk:read', 'keys'],
  'snapshot create': ['snapshot'],
  'snapshot list': ['snapshot'],
  'snapshot restore': ['snapshot'],
  'label set': ['labels'],
  'label list': ['labels'],
  'label delete': ['labels'],
  exposure: ['audit:read'],
  'recover plan': ['recovery'],
  'recover list': ['recovery'],
  'recover show': ['recovery'],
  'recover apply': ['recovery'],
  'recover revert': ['recovery'],
};

export function tenantApi(ctx: TenantContext, command: string, extraScopes: string[] = []): ApiClient {
  const toolstack = ctx.principal.startsWith('tsk_');
  return createApiClient({
    baseUrl: ctx.url,
    key: ctx.key,
    principal: ctx.principal,
    ...(toolstack ? { scope: [...(SCOPES[command] ?? []), ...extraScopes], vms: ctx.vms } : {}),
  });
}

const VM_COLUMNS: [string, (v: any) => unknown][] = [
  ['ID', (v) => v.id],
  ['NAME', (v) => v.name],
  ['STATE', (v) => v.state],
  ['VCPUS', (v) => v.vcpus],
  ['MEMORY MiB', (v) => v.memoryMiB],
];

export async function keyInit(path = DEFAULT_KEYSTORE): Promise<Output> {
  await initKeystore(path);
  return { json: { keystore: path }, text: `Created the keystore ${path}: a 256-bit key-encryption key that never leaves this machine. Back it up; without it your data cannot be decrypted.` };
}

export async function toolstackCommand(ctx: TenantContext, verb: string, args: { id?: string; name?: string; publicKeyFile?: string; scopes?: string[]; vms?: string[] }): Promise<Output> {
  const api = tenantApi(ctx, `toolstack ${verb}`);
  const path = { tenant: ctx.tenant };
  const columns: [string, (t: any) => unknown][] = [['ID', (t) => t.id], ['NAME', (t) => t.name], ['STATE', (t) => t.state], ['SCOPES', (t) => t.scopes.join(' ')], ['VMS', (t) => t.vms?.join(',') ?? 'all'], ['KID', (t) => t.kid]];
  if (verb === 'create') {
    const publicKey = publicKeyOf(JSON.parse(readFileSync(args.publicKeyFile!, 'utf8')) as JWK);
    const { data } = await api.POST('/v1/tenants/{tenant}/toolstacks', { params: { path }, body: { name: args.name!, publicKey: publicKey as never, scopes: args.scopes as never, ...(args.vms ? { vms: args.vms } : {}) } });
    return { json: data, text: `${table([data!], columns)}\nSign its requests with that key and --iss ${data!.id}.` };
  }
  if (verb === 'list') {
    const { data } = await api.GET('/v1/tenants/{tenant}/toolstacks', { params: { path, query: { pageSize: 100 } } });
    return { json: data, text: table(data!.toolstacks, columns) };
  }
  if (verb === 'revoke') {
    const { data } = await api.DELETE('/v1/tenants/{tenant}/toolstacks/{toolstack}', { params: { path: { ...path, toolstack: args.id! } } });
    return { json: data, text: `Revoked ${data!.id}: its next request will be refused; its records stay in your log.` };
  }
  throw new Error(`unknown toolstack command ${verb}`);
}

export async function vmCommand(ctx: TenantContext, verb: string, id?: string): Promise<Output> {
  const api = tenantApi(ctx, `vm ${verb}`);
  if (verb === 'list') {
    const { data } = await api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant: ctx.tenant }, query: { pageSize: 100 } } });
    return { json: data, text: table(data!.vms, VM_COLUMNS) };
  }
  const path = { tenant: ctx.tenant, vm: id! };
  const { data } =
    verb === 'start' ? await api.POST('/v1/tenants/{tenant}/vms/{vm}:start', { params: { path } })
    : verb === 'stop' ? await api.POST('/v1/tenants/{tenant}/vms/{vm}:stop', { params: { path } })
    : await api.POST('/v1/tenants/{tenant}/vms/{vm}:pause', { params: { path } });
  return { json: data, text: table([data!], VM_COLUMNS) };
}

/** The tenant's own log, verified, as the freshness reference for reads. */
async function verifiedRecords(ctx: TenantContext): Promise<{ jws: string }[]> {
  const client = new CustodesClient({ baseUrl: ctx.url, key: ctx.key, principal: ctx.principal, ...(ctx.principal.startsWith('tsk_') ? { scope: ['audit:read'] } : {}) });
  const log = `tenants/${ctx.tenant}`;
  const api = auditApi(client, log);
  const records: { index: number; jws: string }[] = [];
  // The verifier pages through every record; keep them as they pass.
  const source: AuditSource = {
    ...api,
    records: async (from, limit) => {
      const page = await api.records(from, limit);
      records.push(...page.records);
      return page;
    },
  };
  const result = await verifyAuditLog(source, { log, checkRecords: parallelRecordChecker() });
  if (!result.ok) throw new Error(`--verify-fresh: the audit log does not verify: ${result.error}`);
  return records;
}

export interface ContentArgs {
  space: Space;
  resource: string;
  offset: number;
  length?: number;
  file?: string;
  out?: string;
  verifyFresh?: boolean;
}

export async function contentCommand(ctx: TenantContext, verb: 'write' | 'read', args: ContentArgs): Promise<Output> {
  const keystorePath = ctx.keystorePath ?? DEFAULT_KEYSTORE;
  const command = `${args.space === 'memory' ? 'mem' : 'disk'} ${verb}`;
  const contents = new GuestContents(tenantApi(ctx, command), loadKeystore(keystorePath), (keystore) => saveKeystore(keystorePath, keystore));
  const target: ContentTarget = { tenant: ctx.tenant, space: args.space, resource: args.resource };
  if (verb === 'write') {
    const data = new Uint8Array(readFileSync(args.file!));
    const { pages, auditIndexes } = await contents.write(target, args.offset, data);
    return {
      json: { bytes: data.length, pages, auditIndexes },
      text: `Wrote ${data.length} bytes (${pages} pages, encrypted here) to ${args.space} of ${args.resource} at offset ${args.offset}; audit records ${auditIndexes.join(', ')}.`,
    };
  }
  const latest = args.verifyFresh ? latestWritesFromLog(await verifiedRecords(ctx), target) : undefined;
  const data = await contents.read(target, args.offset, args.length!, { latest });
  if (args.out) writeFileSync(args.out, data);
  else process.stdout.write(data);
  const fresh = args.verifyFresh ? ', each page checked against the latest write in your verified audit log' : '';
  return { json: { bytes: data.length, out: args.out ?? null, verifiedFresh: !!args.verifyFresh }, text: args.out ? `Read ${data.length} bytes into ${args.out}${fresh}.` : '' };
}

export async function diskCommand(ctx: TenantContext, verb: string, args: { id?: string; name?: string; sizeGiB?: number; vm?: string }): Promise<Output> {
  const api = tenantApi(ctx, `disk ${verb}`);
  const path = { tenant: ctx.tenant };
  const columns: [string, (d: any) => unknown][] = [['ID', (d) => d.id], ['NAME', (d) => d.name], ['SIZE GiB', (d) => d.sizeGiB], ['VM', (d) => d.vm ?? '-']];
  if (verb === 'create') {
    const { data } = await api.POST('/v1/tenants/{tenant}/disks', { params: { path }, body: { name: args.name!, sizeGiB: args.sizeGiB! } });
    return { json: data, text: table([data!], columns) };
  }
  if (verb === 'list') {
    const { data } = await api.GET('/v1/tenants/{tenant}/disks', { params: { path, query: { pageSize: 100 } } });
    return { json: data, text: table(data!.disks, columns) };
  }
  if (verb === 'attach') {
    const { data } = await api.POST('/v1/tenants/{tenant}/disks/{disk}:attach', { params: { path: { ...path, disk: args.id! } }, body: { vm: args.vm! } });
    return { json: data, text: table([data!], columns) };
  }
  if (verb === 'detach') {
    const { data } = await api.POST('/v1/tenants/{tenant}/disks/{disk}:detach', { params: { path: { ...path, disk: args.id! } } });
    return { json: data, text: table([data!], columns) };
  }
  throw new Error(`unknown disk command ${verb}`);
}

export async function snapshotCommand(ctx: TenantContext, verb: string, args: { id?: string; vm?: string; name?: string }): Promise<Output> {
  const api = tenantApi(ctx, `snapshot ${verb}`);
  const path = { tenant: ctx.tenant };
  const columns: [string, (s: any) => unknown][] = [['ID', (s) => s.id], ['NAME', (s) => s.name], ['VM', (s) => s.vm], ['PAGES', (s) => s.pages], ['DISKS', (s) => s.disks.join(',') || '-'], ['CREATED', (s) => s.createdAt]];
  if (verb === 'create') {
    const { data } = await api.POST('/v1/tenants/{tenant}/snapshots', { params: { path }, body: { vm: args.vm!, name: args.name! } });
    return { json: data, text: table([data!], columns) };
  }
  if (verb === 'list') {
    const { data } = await api.GET('/v1/tenants/{tenant}/snapshots', { params: { path, query: { pageSize: 100, ...(args.vm ? { vm: args.vm } : {}) } } });
    return { json: data, text: table(data!.snapshots, columns) };
  }
  if (verb === 'restore') {
    const { data } = await api.POST('/v1/tenants/{tenant}/snapshots/{snapshot}:restore', { params: { path: { ...path, snapshot: args.id! } } });
    return { json: data, text: `Restored ${data!.snapshot} onto ${data!.vm}: ${data!.pages.length} pages written as new versions (audit record ${data!.auditIndex}).` };
  }
  throw new Error(`unknown snapshot command ${verb}`);
}
