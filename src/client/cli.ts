/**
 * `custodes`: the command line for Custodes. Keys live in files you own; every
 * API call signs a fresh single-use token with them. Tables for people,
 * `--json` for scripts; every API error is printed with its code, detail,
 * request id and, where one helps, a hint.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { JWK } from 'jose';
import { generatePrincipalKey, keyId, mintToken, publicKeyOf, type SigningAlgorithm } from './keys';
import { auditApi, auditTail, auditVerify, TAIL_COLUMNS } from './audit-cli';
import { CustodesApiError, CustodesClient, type Problem } from './sdk';
import { table } from './table';
import { contentCommand, diskCommand, keyInit, snapshotCommand, tenantApi, toolstackCommand, vmCommand, type TenantContext } from './tenant-cli';
import { exposureCommand, labelCommand, recoverCommand, type PlanArgs } from './recovery-cli';
import { adminsCommand, changesCommand, isPendingChange, pendingChange, proposeAuditKeyCommand, providerAccessCommand, tenantAccessCommand } from './governance-cli';
import { createApiClient } from './api';

const DEFAULT_URL = 'http://127.0.0.1:8787';
const LOCAL_ADMIN_KEY = '.custodes/bootstrap-admin.jwk';

const USAGE = `custodes — the Custodes cloud API from the command line

Keys and tokens
  custodes keygen --out FILE [--alg EdDSA|ES256] [--force]
  custodes token --key FILE --iss ID [--scope "a b"] [--vms vm_1,vm_2] [--ttl 300] [--aud custodes]

Provider administration (admin key)
  custodes admin hosts   create --name N --vcpus N --memory-mib N --disk-gib N
  custodes admin hosts   list | get ID | drain ID | delete ID
  custodes admin hosts   update ID [--name N] [--vcpus N] [--memory-mib N] [--disk-gib N] [--activate]
  custodes admin tenants create --name N --owner-key FILE --vcpus N --memory-mib N --disk-gib N
  custodes admin tenants list | get ID | delete ID
  custodes admin tenants update ID [--name N] [--vcpus N] [--memory-mib N] [--disk-gib N]
  custodes admin vms     create --tenant ID --name N --vcpus N --memory-mib N
  custodes admin vms     list [--tenant ID] [--host ID] | get ID | delete ID
  custodes admin vms     resize ID [--vcpus N] [--memory-mib N] | migrate ID [--host ID]
  Significant operations (tenant or VM delete, a quota below use, draining a host with VMs,
  admin registration and role changes) print a pending change request for a second admin:
  custodes admin changes list [--state pending|executed|failed|denied|cancelled|expired] [--tenant ID]
  custodes admin changes show ID | approve ID | deny ID | cancel ID
  custodes admin admins  list | get ID | disable ID
  custodes admin admins  register --name N --public-key FILE --roles provisioner,operator,auditor,security
  custodes admin admins  roles ID --roles auditor,…
  custodes admin access  request --vm V --reason-code support_case|incident_response|legal_request|maintenance
                         --detail TEXT [--duration-minutes 60]         (operation: snapshot.create)
  custodes admin access  list [--state S] [--tenant ID] | get ID | use ID --name SNAPSHOT
  custodes admin audit-key propose --public-key FILE        (the next audit signing key)

Tenant side (--tenant ID --key OWNER_KEY; or --iss tsk_… --key TOOLSTACK_KEY for a toolstack)
  custodes key init [--keystore FILE]                         (default .custodes/keystore.json)
  custodes toolstack create --name N --public-key FILE --scope "memory:read memory:write" [--vms vm_1,vm_2]
  custodes toolstack list | revoke ID
  custodes vm list | start ID | stop ID | pause ID
  custodes mem  write --vm V --offset N --file F
  custodes mem  read  --vm V --offset N --length L [--out F] [--verify-fresh]
  custodes disk create --name N --size-gib N | list | attach ID --vm V | detach ID
  custodes disk write --disk D --offset N --file F | read --disk D --offset N --length L [--out F] [--verify-fresh]
  custodes snapshot create --vm V --name N | list [--vm V] | restore ID

Exposure and recovery (tenant side)
  custodes label set NAME (--vm V | --disk D) --start N --count N | list | delete NAME
  custodes exposure [--label NAME] [--actor ID] [--from TIME] [--to TIME]
  custodes recover plan --mode undo [--actor ID,…] [--session SID,…] [--actions N,…] [--from TIME] [--to TIME]
  custodes recover plan --mode replay --revoke ID,… --from TIME
  custodes recover list | show PLAN | apply PLAN | revert PLAN
  custodes access  list [--state pending|approved|denied] | show ID | approve ID | deny ID

Audit logs (tenant owner key, or an admin key with --provider)
  custodes audit verify --tenant ID --key OWNER_KEY [--state FILE] [--save-bundle DIR] [--skip-signatures]
  custodes audit verify --provider [--state FILE]
  custodes audit verify --bundle DIR [--state FILE]          (no network at all)
  custodes audit tail   --tenant ID --key OWNER_KEY [--actor ID] [--action A] [--outcome allowed|denied|failed] [--limit 50]

Common options
  --url URL        API base URL (default ${DEFAULT_URL}, or $CUSTODES_URL)
  --key FILE       private JWK signing the requests (default $CUSTODES_KEY, else ${LOCAL_ADMIN_KEY})
  --iss ID         principal id owning the key (default $CUSTODES_PRINCIPAL, else adm_bootstrap)
  --json           print the API's JSON instead of a table
  --page-size N    items per page for list commands; --all follows every page
`;

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  iss: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  alg: { type: 'string' },
  force: { type: 'boolean' },
  scope: { type: 'string' },
  vms: { type: 'string' },
  ttl: { type: 'string' },
  aud: { type: 'string' },
  name: { type: 'string' },
  vcpus: { type: 'string' },
  'memory-mib': { type: 'string' },
  'disk-gib': { type: 'string' },
  'owner-key': { type: 'string' },
  tenant: { type: 'string' },
  host: { type: 'string' },
  activate: { type: 'boolean' },
  'page-size': { type: 'string' },
  'page-token': { type: 'string' },
  all: { type: 'boolean' },
  provider: { type: 'boolean' },
  state: { type: 'string' },
  bundle: { type: 'string' },
  'save-bundle': { type: 'string' },
  'skip-signatures': { type: 'boolean' },
  actor: { type: 'string' },
  action: { type: 'string' },
  outcome: { type: 'string' },
  limit: { type: 'string' },
  keystore: { type: 'string' },
  'public-key': { type: 'string' },
  vm: { type: 'string' },
  disk: { type: 'string' },
  offset: { type: 'string' },
  length: { type: 'string' },
  file: { type: 'string' },
  'size-gib': { type: 'string' },
  'verify-fresh': { type: 'boolean' },
  start: { type: 'string' },
  count: { type: 'string' },
  label: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  mode: { type: 'string' },
  session: { type: 'string' },
  actions: { type: 'string' },
  revoke: { type: 'string' },
  roles: { type: 'string' },
  'reason-code': { type: 'string' },
  detail: { type: 'string' },
  'duration-minutes': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

type Flags = ReturnType<typeof parseFlags>['values'];

function parseFlags(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

/** A usage error: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {}

function readJwk(path: string, what: string): JWK {
  if (!existsSync(path)) {
    const hint = path === LOCAL_ADMIN_KEY ? ' Run `npm start` once: it creates the local bootstrap admin keys.' : '';
    throw new UsageError(`${what} ${path} does not exist.${hint}`);
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JWK;
  } catch {
    throw new UsageError(`${what} ${path} is not a JSON Web Key.`);
  }
}

function int(flags: Flags, name: keyof Flags, required = true): number | undefined {
  const raw = flags[name];
  if (raw === undefined) {
    if (required) throw new UsageError(`--${name} is required.`);
    return undefined;
  }
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, not ${JSON.stringify(raw)}.`);
  return Number(raw);
}

function str(flags: Flags, name: keyof Flags): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required.`);
  return value;
}

/** An API client signing as --key/--iss; `asTenantOwner` defaults --iss to --tenant (tenant commands). */
function client(flags: Flags, asTenantOwner = false): CustodesClient {
  const tenantOwner = asTenantOwner && flags.tenant && !flags.provider ? flags.tenant : undefined;
  if (tenantOwner && !flags.key && !process.env.CUSTODES_KEY) throw new UsageError('--key OWNER_KEY is required with --tenant.');
  const keyPath = flags.key ?? process.env.CUSTODES_KEY ?? LOCAL_ADMIN_KEY;
  const principal = flags.iss ?? tenantOwner ?? process.env.CUSTODES_PRINCIPAL ?? 'adm_bootstrap';
  return new CustodesClient({
    baseUrl: flags.url ?? process.env.CUSTODES_URL ?? DEFAULT_URL,
    key: readJwk(keyPath, 'Key file'),
    principal,
    audience: flags.aud,
  });
}

const HOST_COLUMNS: [string, (h: any) => unknown][] = [
  ['ID', (h) => h.id],
  ['NAME', (h) => h.name],
  ['STATE', (h) => h.state],
  ['VCPUS', (h) => `${h.allocated.vcpus}/${h.vcpus}`],
  ['MEMORY MiB', (h) => `${h.allocated.memoryMiB}/${h.memoryMiB}`],
  ['DISK GiB', (h) => h.diskGiB],
  ['VMS', (h) => h.allocated.vms],
];
const TENANT_COLUMNS: [string, (t: any) => unknown][] = [
  ['ID', (t) => t.id],
  ['NAME', (t) => t.name],
  ['STATE', (t) => t.state],
  ['VCPUS', (t) => `${t.usage.vcpus}/${t.quota.vcpus}`],
  ['MEMORY MiB', (t) => `${t.usage.memoryMiB}/${t.quota.memoryMiB}`],
  ['DISK GiB', (t) => t.quota.diskGiB],
  ['VMS', (t) => t.usage.vms],
  ['OWNER KID', (t) => t.ownerKid],
];
const VM_COLUMNS: [string, (v: any) => unknown][] = [
  ['ID', (v) => v.id],
  ['NAME', (v) => v.name],
  ['TENANT', (v) => v.tenant],
  ['HOST', (v) => v.host],
  ['STATE', (v) => v.state],
  ['VCPUS', (v) => v.vcpus],
  ['MEMORY MiB', (v) => v.memoryMiB],
];

type Columns = [string, (row: any) => unknown][];

/** Output of one command: JSON for scripts, a table or a sentence for people. */
interface Output {
  json: unknown;
  text: string;
}

const one = (item: object, columns: Columns): Output => ({ json: item, text: table([item], columns) });

async function list<K extends string>(
  flags: Flags,
  key: K,
  fetchPage: (page: { pageSize?: number; pageToken?: string }) => Promise<Record<K, object[]> & { nextPageToken?: string }>,
  columns: Columns,
): Promise<Output> {
  const items: object[] = [];
  let pageToken = flags['page-token'];
  let next: string | undefined;
  do {
    const page = await fetchPage({ pageSize: int(flags, 'page-size', false), pageToken });
    items.push(...page[key]);
    next = page.nextPageToken;
    pageToken = next;
  } while (flags.all && next);
  const more = next && !flags.all ? `\n(more: --page-token ${next}, or --all)` : '';
  return { json: { [key]: items, ...(next && !flags.all ? { nextPageToken: next } : {}) }, text: table(items, columns) + more };
}

function positional(args: string[], index: number, what: string): string {
  const value = args[index];
  if (!value) throw new UsageError(`Missing ${what}.`);
  return value;
}

/** The typed SDK client signing as the admin of --key/--iss (the same defaults as `client`). */
function adminApi(flags: Flags) {
  return createApiClient({
    baseUrl: flags.url ?? process.env.CUSTODES_URL ?? DEFAULT_URL,
    key: readJwk(flags.key ?? process.env.CUSTODES_KEY ?? LOCAL_ADMIN_KEY, 'Key file'),
    principal: flags.iss ?? process.env.CUSTODES_PRINCIPAL ?? 'adm_bootstrap',
    ...(flags.aud ? { audience: flags.aud } : {}),
  });
}

const roleList = (flags: Flags) => commaList(str(flags, 'roles'))!;

async function admin(args: string[], flags: Flags): Promise<Output> {
  const [resource, verb] = args;
  const api = client(flags);
  const id = () => positional(args, 2, `${resource} id`);
  if (resource === 'changes') return changesCommand(adminApi(flags), verb ?? '', { id: verb === 'list' ? undefined : id(), state: flags.state, tenant: flags.tenant });
  if (resource === 'admins') {
    const publicKey = verb === 'register' ? publicKeyOf(readJwk(str(flags, 'public-key'), 'Public key file')) : undefined;
    const needsId = ['get', 'roles', 'disable'].includes(verb ?? '');
    return adminsCommand(adminApi(flags), verb ?? '', { id: needsId ? id() : undefined, name: flags.name, publicKey, roles: verb === 'register' || verb === 'roles' ? roleList(flags) : undefined });
  }
  if (resource === 'audit-key') {
    if (verb !== 'propose') throw new UsageError(`Unknown command: admin audit-key ${verb ?? ''}`.trim());
    return proposeAuditKeyCommand(adminApi(flags), publicKeyOf(readJwk(str(flags, 'public-key'), 'Public key file')));
  }
  if (resource === 'access') {
    const needsId = ['get', 'use'].includes(verb ?? '');
    return providerAccessCommand(adminApi(flags), verb ?? '', {
      id: needsId ? id() : undefined,
      vm: flags.vm,
      reasonCode: verb === 'request' ? str(flags, 'reason-code') : undefined,
      detail: verb === 'request' ? str(flags, 'detail') : undefined,
      durationMinutes: int(flags, 'duration-minutes', false),
      state: flags.state,
      tenant: flags.tenant,
      name: verb === 'use' ? str(flags, 'name') : undefined,
    });
  }
  switch (`${resource} ${verb}`) {
    case 'hosts create':
      return one(
        await api.hosts.create({ name: str(flags, 'name'), vcpus: int(flags, 'vcpus')!, memoryMiB: int(flags, 'memory-mib')!, diskGiB: int(flags, 'disk-gib')! }),
        HOST_COLUMNS,
      );
    case 'hosts list':
      return list(flags, 'hosts', (p) => api.hosts.list(p), HOST_COLUMNS);
    case 'hosts get':
      return one(await api.hosts.get(id()), HOST_COLUMNS);
    case 'hosts update':
      return one(
        await api.hosts.update(id(), {
          name: flags.name,
          vcpus: int(flags, 'vcpus', false),
          memoryMiB: int(flags, 'memory-mib', false),
          diskGiB: int(flags, 'disk-gib', false),
          ...(flags.activate ? { state: 'active' as const } : {}),
        }),
        HOST_COLUMNS,
      );
    case 'hosts drain': {
      const report = await api.hosts.drain(id());
      if (isPendingChange(report)) return pendingChange(report);
      const moved = report.migrated.map((m) => `  moved ${m.vm}: ${m.from} → ${m.to}`);
      const stuck = report.stranded.map((s) => `  stranded ${s.vm}: ${s.reason}`);
      return { json: report, text: [`Host ${report.host.id} is ${report.host.state}.`, ...moved, ...stuck].join('\n') };
    }
    case 'hosts delete':
      await api.hosts.delete(id());
      return { json: { deleted: args[2] }, text: `Deleted host ${args[2]}.` };
    case 'tenants create': {
      const ownerKey = publicKeyOf(readJwk(str(flags, 'owner-key'), 'Owner key file'));
      const quota = { vcpus: int(flags, 'vcpus')!, memoryMiB: int(flags, 'memory-mib')!, diskGiB: int(flags, 'disk-gib')! };
      return one(await api.tenants.create({ name: str(flags, 'name'), ownerKey, quota }), TENANT_COLUMNS);
    }
    case 'tenants list':
      return list(flags, 'tenants', (p) => api.tenants.list(p), TENANT_COLUMNS);
    case 'tenants get':
      return one(await api.tenants.get(id()), TENANT_COLUMNS);
    case 'tenants update': {
      const quota = { vcpus: int(flags, 'vcpus', false), memoryMiB: int(flags, 'memory-mib', false), diskGiB: int(flags, 'disk-gib', false) };
      const hasQuota = Object.values(quota).some((v) => v !== undefined);
      const updated = await api.tenants.update(id(), { name: flags.name, ...(hasQuota ? { quota } : {}) });
      return isPendingChange(updated) ? pendingChange(updated) : one(updated, TENANT_COLUMNS);
    }
    case 'tenants delete':
      return pendingChange(await api.tenants.delete(id()));
    case 'vms create':
      return one(
        await api.vms.create(str(flags, 'tenant'), { name: str(flags, 'name'), vcpus: int(flags, 'vcpus')!, memoryMiB: int(flags, 'memory-mib')! }),
        VM_COLUMNS,
      );
    case 'vms list':
      return list(flags, 'vms', (p) => api.vms.list({ ...p, tenant: flags.tenant, host: flags.host }), VM_COLUMNS);
    case 'vms get':
      return one(await api.vms.get(id()), VM_COLUMNS);
    case 'vms resize':
      return one(await api.vms.resize(id(), { vcpus: int(flags, 'vcpus', false), memoryMiB: int(flags, 'memory-mib', false) }), VM_COLUMNS);
    case 'vms migrate': {
      const moved = await api.vms.migrate(id(), flags.host);
      return { json: moved, text: `Migrated ${moved.vm.id}: ${moved.from} → ${moved.to}.` };
    }
    case 'vms delete':
      return pendingChange(await api.vms.delete(id()));
    default:
      throw new UsageError(`Unknown command: admin ${args.join(' ')}`.trim());
  }
}

/** The log an audit command reads: a tenant's or, with --provider, the provider's. */
function auditLogOf(flags: Flags): string {
  if (flags.provider) return 'provider';
  if (flags.tenant) return `tenants/${flags.tenant}`;
  throw new UsageError('Name the log: --tenant ID (with its owner key) or --provider.');
}

/** Set when `audit verify` fails: the command printed why and exits 1. */
class VerificationFailed extends Error {}

async function audit(args: string[], flags: Flags): Promise<Output> {
  const [verb] = args;
  if (verb === 'verify') {
    const log = flags.bundle ? '' : auditLogOf(flags); // a bundle names its own log
    const result = await auditVerify({
      log,
      api: flags.bundle ? undefined : auditApi(client(flags, true), log),
      statePath: flags.state,
      bundle: flags.bundle,
      saveBundle: flags['save-bundle'],
      checkSignatures: !flags['skip-signatures'],
    });
    if (!result.ok) throw new VerificationFailed(flags.json ? JSON.stringify(result.json, null, 2) : result.text);
    return result;
  }
  if (verb === 'tail') {
    const limit = int(flags, 'limit', false) ?? 50;
    const outcome = flags.outcome;
    if (outcome && !['allowed', 'denied', 'failed'].includes(outcome)) throw new UsageError('--outcome is allowed, denied or failed.');
    const records = await auditTail(auditApi(client(flags, true), auditLogOf(flags)), { actor: flags.actor, action: flags.action, outcome, limit });
    return { json: { records }, text: table(records, TAIL_COLUMNS) };
  }
  throw new UsageError(`Unknown command: audit ${args.join(' ')}`.trim());
}

/** Who a tenant command acts for and signs as. */
function tenantContext(flags: Flags): TenantContext {
  const tenant = str(flags, 'tenant');
  const keyPath = flags.key ?? process.env.CUSTODES_KEY;
  if (!keyPath) throw new UsageError('--key is required: the tenant owner\'s key, or a toolstack\'s with --iss tsk_….');
  return {
    url: flags.url ?? process.env.CUSTODES_URL ?? DEFAULT_URL,
    key: readJwk(keyPath, 'Key file'),
    tenant,
    principal: flags.iss ?? tenant,
    vms: flags.vms?.split(',').filter(Boolean),
    keystorePath: flags.keystore,
  };
}

async function tenantCommand(command: string, args: string[], flags: Flags): Promise<Output> {
  const [verb] = args;
  const id = () => positional(args, 1, `${command} id`);
  if (command === 'key') {
    if (verb !== 'init') throw new UsageError(`Unknown command: key ${args.join(' ')}`.trim());
    return keyInit(flags.keystore);
  }
  const ctx = tenantContext(flags);
  switch (`${command} ${verb}`) {
    case 'toolstack create':
      return toolstackCommand(ctx, 'create', { name: str(flags, 'name'), publicKeyFile: str(flags, 'public-key'), scopes: str(flags, 'scope').split(/[\s,]+/).filter(Boolean), vms: flags.vms?.split(',').filter(Boolean) });
    case 'toolstack list':
      return toolstackCommand(ctx, 'list', {});
    case 'toolstack revoke':
      return toolstackCommand(ctx, 'revoke', { id: id() });
    case 'vm list':
      return vmCommand(ctx, 'list');
    case 'vm start':
    case 'vm stop':
    case 'vm pause':
      return vmCommand(ctx, verb!, id());
    case 'mem write':
    case 'mem read':
    case 'disk write':
    case 'disk read': {
      const space = command === 'mem' ? 'memory' : 'disk';
      const resource = str(flags, space === 'memory' ? 'vm' : 'disk');
      const offset = int(flags, 'offset', false) ?? 0;
      if (verb === 'write') return contentCommand(ctx, 'write', { space, resource, offset, file: str(flags, 'file') });
      return contentCommand(ctx, 'read', { space, resource, offset, length: int(flags, 'length')!, out: flags.out, verifyFresh: flags['verify-fresh'] });
    }
    case 'disk create':
      return diskCommand(ctx, 'create', { name: str(flags, 'name'), sizeGiB: int(flags, 'size-gib')! });
    case 'disk list':
      return diskCommand(ctx, 'list', {});
    case 'disk attach':
      return diskCommand(ctx, 'attach', { id: id(), vm: str(flags, 'vm') });
    case 'disk detach':
      return diskCommand(ctx, 'detach', { id: id() });
    case 'snapshot create':
      return snapshotCommand(ctx, 'create', { vm: str(flags, 'vm'), name: str(flags, 'name') });
    case 'snapshot list':
      return snapshotCommand(ctx, 'list', { vm: flags.vm });
    case 'snapshot restore':
      return snapshotCommand(ctx, 'restore', { id: id() });
    case 'label set':
      return labelCommand(ctx, 'set', { name: id(), vm: flags.vm, disk: flags.disk, start: int(flags, 'start')!, count: int(flags, 'count')! });
    case 'label list':
      return labelCommand(ctx, 'list', {});
    case 'label delete':
      return labelCommand(ctx, 'delete', { name: id() });
    case 'access list':
      return tenantAccessCommand(tenantApi(ctx, 'access'), ctx.tenant, 'list', { state: flags.state });
    case 'access show':
    case 'access approve':
    case 'access deny':
      return tenantAccessCommand(tenantApi(ctx, 'access'), ctx.tenant, verb!, { id: id() });
    case 'recover plan':
      return recoverCommand(ctx, 'plan', { plan: planArgs(flags) });
    case 'recover list':
      return recoverCommand(ctx, 'list', {});
    case 'recover show':
    case 'recover apply':
    case 'recover revert':
      return recoverCommand(ctx, verb!, { id: id() });
    default:
      if (command === 'exposure' && verb === undefined) return exposureCommand(ctx, { label: flags.label, actor: flags.actor, from: flags.from, to: flags.to });
      throw new UsageError(`Unknown command: ${command} ${args.join(' ')}`.trim());
  }
}

const TENANT_COMMANDS = new Set(['key', 'toolstack', 'vm', 'mem', 'disk', 'snapshot', 'label', 'exposure', 'recover', 'access']);

const commaList = (text: string | undefined) => text?.split(',').map((s) => s.trim()).filter(Boolean);

/** `recover plan` flags as a plan request; what is missing or malformed is a usage error. */
function planArgs(flags: Flags): PlanArgs {
  const mode = flags.mode;
  if (mode === 'undo') {
    const actions = commaList(flags.actions)?.map((a) => {
      if (!/^\d+$/.test(a)) throw new UsageError(`--actions takes audit indexes (e.g. 12,15); got ${JSON.stringify(a)}.`);
      return Number(a);
    });
    const args: PlanArgs = { mode, actors: commaList(flags.actor), sessions: commaList(flags.session), actions, from: flags.from, to: flags.to };
    if (!args.actors && !args.sessions && !args.actions) throw new UsageError('recover plan --mode undo needs seeds: --actor ID,…, --session SID,… or --actions N,….');
    return args;
  }
  if (mode === 'replay') {
    const revoke = commaList(flags.revoke);
    if (!revoke || !flags.from) throw new UsageError('recover plan --mode replay needs --revoke ID,… and --from TIME (the instant the revocation takes effect).');
    return { mode, revoke, from: flags.from };
  }
  throw new UsageError('recover plan needs --mode undo or --mode replay.');
}

async function keygen(flags: Flags): Promise<Output> {
  const out = str(flags, 'out');
  if (existsSync(out) && !flags.force) throw new UsageError(`${out} exists; pass --force to replace it (the old key is lost).`);
  const alg = (flags.alg ?? 'EdDSA') as SigningAlgorithm;
  if (alg !== 'EdDSA' && alg !== 'ES256') throw new UsageError('--alg must be EdDSA or ES256.');
  const key = await generatePrincipalKey(alg);
  writeFileSync(out, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  const publicJwk = publicKeyOf(key);
  const kid = await keyId(key);
  return {
    json: { kid, publicJwk, privateKeyFile: out },
    text: `Wrote the private key to ${out} (keep it; it never leaves your machine).\nkid: ${kid}\npublic JWK: ${JSON.stringify(publicJwk)}`,
  };
}

async function token(flags: Flags): Promise<Output> {
  const ttl = int(flags, 'ttl', false) ?? 300;
  if (ttl > 900) throw new UsageError('--ttl may be at most 900 seconds (15 minutes): the API refuses longer-lived tokens.');
  const jwt = await mintToken({
    key: readJwk(flags.key ?? process.env.CUSTODES_KEY ?? LOCAL_ADMIN_KEY, 'Key file'),
    principal: flags.iss ?? process.env.CUSTODES_PRINCIPAL ?? str(flags, 'iss'),
    audience: flags.aud,
    scope: flags.scope?.split(/[\s,]+/).filter(Boolean),
    vms: flags.vms?.split(',').filter(Boolean),
    ttlSeconds: ttl,
  });
  return { json: { token: jwt }, text: jwt };
}

/** Hints for problems a person can fix from the command line. */
const HINTS: Record<string, string> = {
  token_key_unknown: 'The key is not registered with this API. Check --key, or restart with the keys `npm start` created.',
  token_claims_invalid: 'Is --iss the id of the principal that owns --key?',
  token_expired: 'Check this machine\'s clock.',
  token_not_yet_valid: 'Check this machine\'s clock.',
  missing_role: 'Ask a security admin for the role, or use another admin key.',
  no_capacity: 'Add a host (`custodes admin hosts create`) or drain fewer.',
  quota_exceeded: 'Raise the tenant quota (`custodes admin tenants update ID --vcpus N`).',
  precondition_failed: 'Someone changed it meanwhile: read it again and retry.',
  missing_scope: 'Give the toolstack that scope (its ceiling) or use the owner key.',
  token_scope_exceeds_ceiling: 'The toolstack\'s ceiling does not include that scope; the owner can register one that does.',
  index_out_of_range: 'The VM\'s memory (or the disk) is smaller than offset + length.',
};

function describeProblem(problem: Problem): string {
  const lines = [`error: ${problem.title} (${problem.code})`];
  const errors = problem.errors as { path: string; message: string }[] | undefined;
  // A validation problem's detail repeats its errors; list them one per line instead.
  lines.push(...(errors ? errors.map((e) => `  - ${e.path}: ${e.message}`) : [`  ${problem.detail}`]));
  if (HINTS[problem.code]) lines.push(`hint: ${HINTS[problem.code]}`);
  lines.push(`request id: ${problem.requestId}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (flags.help || !command) {
    process.stdout.write(USAGE);
    return command || flags.help ? 0 : 2;
  }
  try {
    const output =
      command === 'keygen' ? await keygen(flags)
      : command === 'token' ? await token(flags)
      : command === 'admin' ? await admin(rest, flags)
      : command === 'audit' ? await audit(rest, flags)
      : TENANT_COMMANDS.has(command) ? await tenantCommand(command, rest, flags)
      : (() => { throw new UsageError(`Unknown command: ${command}`); })();
    process.stdout.write(`${flags.json ? JSON.stringify(output.json, null, 2) : output.text}\n`);
    return 0;
  } catch (error) {
    if (error instanceof VerificationFailed) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\nRun \`custodes --help\` for usage.\n`);
      return 2;
    }
    if (error instanceof CustodesApiError) {
      process.stderr.write(`${flags.json ? JSON.stringify(error.problem, null, 2) : describeProblem(error.problem)}\n`);
      return 1;
    }
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED' || (error as Error).message === 'fetch failed') {
      const url = flags.url ?? process.env.CUSTODES_URL ?? DEFAULT_URL;
      process.stderr.write(`error: cannot reach ${url}. Is the API running? Start it with \`npm start\`.\n`);
      return 1;
    }
    throw error;
  }
}
