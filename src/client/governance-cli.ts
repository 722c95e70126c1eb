/**
 * Checks and balances from the command line (DESIGN §7): `custodes admin
 * changes` (the two-person rule), `custodes admin admins`, `custodes admin
 * access` (an operator's side of the lockbox) and `custodes access` (the
 * tenant owner's side). Typed against openapi.yaml through the SDK client.
 */
import type { ApiClient } from './api';
import type { ChangeRequest } from './sdk';
import type { Output } from './tenant-cli';
import { table } from './table';

type Row = Record<string, any>;

const CHANGE_COLUMNS: [string, (c: Row) => unknown][] = [
  ['ID', (c) => c.id],
  ['OPERATION', (c) => c.operation],
  ['TARGET', (c) => `${c.target.type}/${c.target.id}`],
  ['STATE', (c) => c.state],
  ['PROPOSER', (c) => c.proposer],
  ['NEEDS', (c) => c.requiredRole],
  ['TENANTS', (c) => c.tenants.join(',') || '-'],
  ['EXPIRES', (c) => c.expiresAt],
];

/** What a significant operation printed: the pending request and how a second admin approves it. */
export function pendingChange(change: ChangeRequest | Row): Output {
  return {
    json: change,
    text: `${table([change], CHANGE_COLUMNS)}\nSignificant: nothing happens until another admin with role ${change.requiredRole} runs\n  custodes admin changes approve ${change.id} --key <their key> --iss <their id>`,
  };
}

/** Whether an API answer is a pending change request (a 202) rather than the operation's result. */
export const isPendingChange = (body: object): body is ChangeRequest => 'operation' in body && String((body as Row).id).startsWith('chg_');

export async function changesCommand(api: ApiClient, verb: string, args: { id?: string; state?: string; tenant?: string }): Promise<Output> {
  if (verb === 'list') {
    const { data } = await api.GET('/v1/admin/changes', { params: { query: { pageSize: 100, ...(args.state ? { state: args.state as never } : {}), ...(args.tenant ? { tenant: args.tenant } : {}) } } });
    return { json: data, text: table(data!.changes, CHANGE_COLUMNS) };
  }
  const path = { change: args.id! };
  if (verb === 'show') {
    const { data } = await api.GET('/v1/admin/changes/{change}', { params: { path } });
    const c = data!;
    const lines = [table([c], CHANGE_COLUMNS), `params: ${JSON.stringify(c.params)}`];
    if (c.approvals.length) lines.push(`approved by ${c.approvals.map((a) => `${a.admin} at ${a.at}`).join(', ')}`);
    if (c.decidedBy) lines.push(`${c.state} by ${c.decidedBy}`);
    if (c.failure) lines.push(`failed: ${c.failure.code}: ${c.failure.detail}`);
    return { json: c, text: lines.join('\n') };
  }
  if (verb === 'approve') {
    const { data } = await api.POST('/v1/admin/changes/{change}:approve', { params: { path } });
    return { json: data, text: `Approved and executed ${data!.change.id} (${data!.change.operation} of ${data!.change.target.type} ${data!.change.target.id}).` };
  }
  if (verb === 'deny' || verb === 'cancel') {
    const { data } =
      verb === 'deny' ? await api.POST('/v1/admin/changes/{change}:deny', { params: { path } }) : await api.POST('/v1/admin/changes/{change}:cancel', { params: { path } });
    return { json: data, text: `${data!.id} is ${data!.state}; it will never execute.` };
  }
  throw new Error(`unknown changes command ${verb}`);
}

const ADMIN_COLUMNS: [string, (a: Row) => unknown][] = [
  ['ID', (a) => a.id],
  ['NAME', (a) => a.name],
  ['ROLES', (a) => a.roles.join(',')],
  ['STATE', (a) => a.state],
  ['BOOTSTRAP', (a) => (a.bootstrap ? 'yes' : 'no')],
  ['KID', (a) => a.kid],
];

export async function adminsCommand(api: ApiClient, verb: string, args: { id?: string; name?: string; publicKey?: Row; roles?: string[] }): Promise<Output> {
  if (verb === 'list') {
    const { data } = await api.GET('/v1/admin/admins', { params: { query: { pageSize: 100 } } });
    return { json: data, text: table(data!.admins, ADMIN_COLUMNS) };
  }
  if (verb === 'get') {
    const { data } = await api.GET('/v1/admin/admins/{admin}', { params: { path: { admin: args.id! } } });
    return { json: data, text: table([data!], ADMIN_COLUMNS) };
  }
  if (verb === 'register') {
    const { data } = await api.POST('/v1/admin/admins', { body: { name: args.name!, publicKey: args.publicKey as never, roles: args.roles as never } });
    return pendingChange(data!);
  }
  if (verb === 'roles') {
    const { data } = await api.PATCH('/v1/admin/admins/{admin}', { params: { path: { admin: args.id! } }, body: { roles: args.roles as never } });
    return pendingChange(data!);
  }
  if (verb === 'disable') {
    const { data } = await api.POST('/v1/admin/admins/{admin}:disable', { params: { path: { admin: args.id! } } });
    return { json: data, text: `Disabled ${data!.id}: its next request is refused.` };
  }
  throw new Error(`unknown admins command ${verb}`);
}

const ACCESS_COLUMNS: [string, (a: Row) => unknown][] = [
  ['ID', (a) => a.id],
  ['TENANT', (a) => a.tenant],
  ['VM', (a) => a.vm],
  ['OPERATION', (a) => a.operation],
  ['REASON', (a) => `${a.reasonCode}: ${a.detail}`],
  ['REQUESTER', (a) => a.requester],
  ['STATE', (a) => a.state],
  ['VALID UNTIL', (a) => a.validUntil ?? '-'],
  ['USES', (a) => a.uses],
];

/** The operator's side: file, list, show and use access requests. */
export async function providerAccessCommand(
  api: ApiClient,
  verb: string,
  args: { id?: string; vm?: string; operation?: string; reasonCode?: string; detail?: string; durationMinutes?: number; state?: string; tenant?: string; name?: string },
): Promise<Output> {
  if (verb === 'request') {
    const { data } = await api.POST('/v1/admin/access-requests', {
      body: { vm: args.vm!, operation: (args.operation ?? 'snapshot.create') as never, reasonCode: args.reasonCode as never, detail: args.detail!, durationMinutes: args.durationMinutes ?? 60 },
    });
    return { json: data, text: `${table([data!], ACCESS_COLUMNS)}\nFiled. Tenant ${data!.tenant} decides; until it approves, nothing is allowed.` };
  }
  if (verb === 'list') {
    const { data } = await api.GET('/v1/admin/access-requests', { params: { query: { pageSize: 100, ...(args.state ? { state: args.state as never } : {}), ...(args.tenant ? { tenant: args.tenant } : {}) } } });
    return { json: data, text: table(data!.accessRequests, ACCESS_COLUMNS) };
  }
  if (verb === 'get') {
    const { data } = await api.GET('/v1/admin/access-requests/{request}', { params: { path: { request: args.id! } } });
    return { json: data, text: table([data!], ACCESS_COLUMNS) };
  }
  if (verb === 'use') {
    const { data } = await api.POST('/v1/admin/access-requests/{request}:use', { params: { path: { request: args.id! } }, body: { name: args.name! } });
    return { json: data, text: `Snapshot ${data!.snapshot.id} of ${data!.snapshot.vm} (${data!.snapshot.pages} ciphertext pages, by reference) under ${data!.accessRequest.id}; recorded in the tenant's log.` };
  }
  throw new Error(`unknown access command ${verb}`);
}

/** The tenant owner's side: see, approve and deny the provider's requests. */
export async function tenantAccessCommand(api: ApiClient, tenant: string, verb: string, args: { id?: string; state?: string }): Promise<Output> {
  if (verb === 'list') {
    const { data } = await api.GET('/v1/tenants/{tenant}/access-requests', { params: { path: { tenant }, query: { pageSize: 100, ...(args.state ? { state: args.state as never } : {}) } } });
    return { json: data, text: table(data!.accessRequests, ACCESS_COLUMNS) };
  }
  const path = { tenant, request: args.id! };
  if (verb === 'show') {
    const { data } = await api.GET('/v1/tenants/{tenant}/access-requests/{request}', { params: { path } });
    return { json: data, text: table([data!], ACCESS_COLUMNS) };
  }
  if (verb === 'approve' || verb === 'deny') {
    const { data } =
      verb === 'approve'
        ? await api.POST('/v1/tenants/{tenant}/access-requests/{request}:approve', { params: { path } })
        : await api.POST('/v1/tenants/{tenant}/access-requests/{request}:deny', { params: { path } });
    const text = data!.state === 'approved' ? `Approved ${data!.id}: ${data!.operation} on ${data!.vm} until ${data!.validUntil}. Every use will be in your audit log.` : `Denied ${data!.id}.`;
    return { json: data, text };
  }
  throw new Error(`unknown access command ${verb}`);
}

/** Proposes the next audit signing key (its public half); a second security admin approves it. */
export async function proposeAuditKeyCommand(api: ApiClient, publicKey: Row): Promise<Output> {
  const { data } = await api.POST('/v1/admin/audit/keys', { body: { publicKey } });
  const out = pendingChange(data!);
  return { json: data, text: `${out.text}
Once approved, deploy the private key as AUDIT_SIGNING_JWK: the first request served with it activates it.` };
}
