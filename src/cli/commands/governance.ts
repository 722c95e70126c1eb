/**
 * Checks and balances from the command line (docs/design.md §7): `custodes admin
 * changes` (the two-person rule), `custodes admin admins`, `custodes admin
 * access` (an operator's side of the lockbox), `custodes admin audit-key`,
 * and `custodes access` (the tenant owner's side of the lockbox).
 */
import type { Command } from 'commander';
import type { components } from '../../sdk/client';
import { publicKeyOf } from '../../sdk/keys';
import {
  action,
  adminClient,
  choiceOption,
  commaList,
  listOutput,
  numberOption,
  one,
  readPublicJwk,
  UsageError,
  withPaging,
  type Emit,
  type Output,
} from '../context';
import { table, type Column } from '../table';
import { tenantClient, tenantOptions, type TenantOptions } from '../tenant-context';

type Schemas = components['schemas'];
type ChangeRequest = Schemas['ChangeRequest'];

const CHANGE_COLUMNS: Column<ChangeRequest>[] = [
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
export function pendingChange(change: ChangeRequest): Output {
  return {
    json: change,
    text: `${table([change], CHANGE_COLUMNS)}\nSignificant: nothing happens until another admin with role ${change.requiredRole} runs\n  custodes admin changes approve ${change.id} --key <their key> --iss <their id>`,
  };
}

/** Whether an API answer is a pending change request (a 202) rather than the operation's result. */
export const isPendingChange = (body: object): body is ChangeRequest => 'operation' in body && 'requiredRole' in body;

const CHANGE_STATES = ['pending', 'executed', 'failed', 'denied', 'cancelled', 'expired'] as const;
const ACCESS_STATES = ['pending', 'approved', 'denied'] as const;
const ROLES = ['provisioner', 'operator', 'auditor', 'security'] as const;
const REASON_CODES = ['customer_support', 'provider_review', 'incident_response', 'third_party_request', 'maintenance', 'legal_request'] as const;
const POLICY_DECISIONS = ['deny', 'approve', 'allow'] as const;

/** What an admin route answered: an enrolment at once (the bootstrap ceremony) or a change request to approve. */
function enrolledOrPending(body: Schemas['Admin'] | ChangeRequest): Output {
  if (isPendingChange(body)) return pendingChange(body);
  return { json: body, text: `${table([body], ADMIN_COLUMNS)}\nEnrolled at once by a bootstrap key (the ceremony: until two enrolled admins hold security).` };
}

/** `--roles a,b`: each one a known role. */
function roleList(value: string): (typeof ROLES)[number][] {
  return commaList(value).map((role) => {
    if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--roles takes ${ROLES.join(', ')}; got ${JSON.stringify(role)}.`);
    return role as (typeof ROLES)[number];
  });
}

export function changeCommands(admin: Command, emit: Emit): void {
  const changes = admin.command('changes').description('the two-person rule: significant changes waiting for a second admin');
  action<{ state?: (typeof CHANGE_STATES)[number]; tenant?: string }>(
    withPaging(
      changes
        .command('list')
        .description('list change requests')
        .addOption(choiceOption('--state <state>', 'only those in this state', CHANGE_STATES))
        .option('--tenant <id>', 'only those affecting this tenant'),
    ),
    emit,
    async (_, o) => {
      const api = adminClient(o);
      return listOutput(
        o,
        'changes',
        async (page) =>
          (
            await api.GET('/v1/admin/changes', {
              params: { query: { ...page, ...(o.state ? { state: o.state } : {}), ...(o.tenant ? { tenant: o.tenant } : {}) } },
            })
          ).data!,
        CHANGE_COLUMNS,
      );
    },
  );
  action(changes.command('show').description('show a change request, its parameters and approvals').argument('<change>'), emit, async ([change], o) => {
    const c = (await adminClient(o).GET('/v1/admin/changes/{change}', { params: { path: { change: change! } } })).data!;
    const lines = [table([c], CHANGE_COLUMNS), `params: ${JSON.stringify(c.params)}`];
    if (c.approvals.length) lines.push(`approved by ${c.approvals.map((a) => `${a.admin} at ${a.at}`).join(', ')}`);
    if (c.decidedBy) lines.push(`${c.state} by ${c.decidedBy}`);
    if (c.failure) lines.push(`failed: ${c.failure.code}: ${c.failure.detail}`);
    return { json: c, text: lines.join('\n') };
  });
  action(changes.command('approve').description('approve (as the second admin) and execute').argument('<change>'), emit, async ([change], o) => {
    const data = (await adminClient(o).POST('/v1/admin/changes/{change}:approve', { params: { path: { change: change! } } })).data!;
    return { json: data, text: `Approved and executed ${data.change.id} (${data.change.operation} of ${data.change.target.type} ${data.change.target.id}).` };
  });
  for (const verb of ['deny', 'cancel'] as const) {
    action(
      changes
        .command(verb)
        .description(verb === 'deny' ? "refuse another admin's change" : 'withdraw your own change')
        .argument('<change>'),
      emit,
      async ([change], o) => {
        const params = { params: { path: { change: change! } } };
        const api = adminClient(o);
        const data = (verb === 'deny' ? await api.POST('/v1/admin/changes/{change}:deny', params) : await api.POST('/v1/admin/changes/{change}:cancel', params))
          .data!;
        return { json: data, text: `${data.id} is ${data.state}; it will never execute.` };
      },
    );
  }
}

const ADMIN_COLUMNS: Column<Schemas['Admin']>[] = [
  ['ID', (a) => a.id],
  ['NAME', (a) => a.name],
  ['ROLES', (a) => a.roles.join(',')],
  ['STATE', (a) => a.state],
  ['BOOTSTRAP', (a) => (a.bootstrap ? 'yes' : 'no')],
  ['KID', (a) => a.kid],
];

export function adminCommands(admin: Command, emit: Emit): void {
  const admins = admin.command('admins').description('provider admins and their roles');
  action(withPaging(admins.command('list').description('list admins')), emit, async (_, o) => {
    const api = adminClient(o);
    return listOutput(o, 'admins', async (query) => (await api.GET('/v1/admin/admins', { params: { query } })).data!, ADMIN_COLUMNS);
  });
  action(admins.command('get').description('show an admin').argument('<admin>'), emit, async ([id], o) =>
    one((await adminClient(o).GET('/v1/admin/admins/{admin}', { params: { path: { admin: id! } } })).data!, ADMIN_COLUMNS),
  );
  action<{ name: string; publicKey: string; roles: string }>(
    admins
      .command('register')
      .description('register an admin (a change request)')
      .requiredOption('--name <name>', 'admin name')
      .requiredOption('--public-key <file>', 'their public JWK file')
      .requiredOption('--roles <roles>', ROLES.join(',')),
    emit,
    async (_, o) => {
      const body = { name: o.name, publicKey: publicKeyOf(readPublicJwk(o.publicKey, '--public-key')) as Schemas['PublicJwk'], roles: roleList(o.roles) };
      return enrolledOrPending((await adminClient(o).POST('/v1/admin/admins', { body })).data!);
    },
  );
  action<{ roles: string }>(
    admins.command('roles').description("set an admin's roles (a change request)").argument('<admin>').requiredOption('--roles <roles>', ROLES.join(',')),
    emit,
    async ([id], o) =>
      enrolledOrPending(
        (await adminClient(o).PATCH('/v1/admin/admins/{admin}', { params: { path: { admin: id! } }, body: { roles: roleList(o.roles) } })).data!,
      ),
  );
  action<{ minutes: number }>(
    admins
      .command('reenable')
      .description('propose re-enabling a retired bootstrap key for a while (a change request)')
      .argument('<admin>', 'adm_bootstrap, adm_bootstrap2, …')
      .addOption(numberOption('--minutes <n>', 'for how long (at most 1440)', true)),
    emit,
    async ([id], o) =>
      pendingChange((await adminClient(o).POST('/v1/admin/admins/{admin}:reenable', { params: { path: { admin: id! } }, body: { minutes: o.minutes } })).data!),
  );
  action(admins.command('disable').description('disable an admin at once').argument('<admin>'), emit, async ([id], o) => {
    const data = (await adminClient(o).POST('/v1/admin/admins/{admin}:disable', { params: { path: { admin: id! } } })).data!;
    return { json: data, text: `Disabled ${data.id}: its next request is refused.` };
  });
  action<{ publicKey: string }>(
    admin
      .command('audit-key')
      .description('audit signing keys')
      .command('propose')
      .description('propose the next audit signing key (a change request)')
      .requiredOption('--public-key <file>', "the new key's public JWK file"),
    emit,
    async (_, o) => {
      const data = (
        await adminClient(o).POST('/v1/admin/audit/keys', {
          body: { publicKey: publicKeyOf(readPublicJwk(o.publicKey, '--public-key')) as Schemas['ProposeAuditKey']['publicKey'] },
        })
      ).data!;
      return {
        json: data,
        text: `${pendingChange(data).text}\nOnce approved, deploy the private key as AUDIT_SIGNING_JWK: the first request served with it activates it.`,
      };
    },
  );
}

const ACCESS_COLUMNS: Column<Schemas['AccessRequest']>[] = [
  ['ID', (a) => a.id],
  ['TENANT', (a) => a.tenant],
  ['VM', (a) => a.vm],
  ['OPERATION', (a) => a.operation],
  ['REASON', (a) => `${a.reasonCode}: ${a.detail}`],
  ['REQUESTER', (a) => a.requester],
  ['STATE', (a) => `${a.state}${a.breakGlass ? ' BREAK-GLASS' : ''}${a.sealUntil ? ` sealed until ${a.sealUntil}` : ''}`],
  ['DECIDED BY', (a) => a.decidedBy ?? '-'],
  ['VALID UNTIL', (a) => a.validUntil ?? '-'],
  ['USES', (a) => a.uses],
];

/** The operator's side: file, list, show and use access requests. */
export function providerAccessCommands(admin: Command, emit: Emit): void {
  const access = admin.command('access').description('ask a tenant for access to one of its VMs (the lockbox)');
  action<{ vm: string; reasonCode: (typeof REASON_CODES)[number]; detail: string; durationMinutes?: number; breakGlass?: boolean; sealUntil?: string }>(
    access
      .command('request')
      .description("file an access request (operation snapshot.create); the tenant's policy or its owner decides")
      .requiredOption('--vm <vm>', 'the VM')
      .addOption(choiceOption('--reason-code <code>', 'why', REASON_CODES, true))
      .requiredOption('--detail <text>', 'why, for the tenant to read')
      .addOption(numberOption('--duration-minutes <n>', 'how long an approval lasts (default 60; break-glass at most 240)'))
      .option('--break-glass', 'an emergency access without the tenant: a second security admin approves; at most 4 h; the tenant is alerted at once')
      .option('--seal-until <instant>', 'a legal_request the tenant may not learn of yet: sealed until this ISO instant (at most 180 days)'),
    emit,
    async (_, o) => {
      const body = {
        vm: o.vm,
        operation: 'snapshot.create' as const,
        reasonCode: o.reasonCode,
        detail: o.detail,
        durationMinutes: o.durationMinutes ?? 60,
        ...(o.breakGlass ? { breakGlass: true } : {}),
        ...(o.sealUntil ? { sealUntil: o.sealUntil } : {}),
      };
      const data = (await adminClient(o).POST('/v1/admin/access-requests', { body })).data!;
      const next =
        data.breakGlass || data.sealUntil
          ? `A second security admin decides: custodes admin access approve ${data.id} --key <their key>.`
          : data.decidedBy === 'policy'
            ? `Tenant ${data.tenant}'s policy decided at once: ${data.state}${data.validUntil ? ` until ${data.validUntil}` : ''}.`
            : `Tenant ${data.tenant} decides; until it approves, nothing is allowed.`;
      return { json: data, text: `${table([data], ACCESS_COLUMNS)}\nFiled. ${next}` };
    },
  );
  for (const verb of ['approve', 'deny'] as const) {
    action(
      access.command(verb).description(`${verb} a break-glass or sealed request (a second security admin)`).argument('<request>'),
      emit,
      async ([request], o) => {
        const params = { params: { path: { request: request! } } };
        const api = adminClient(o);
        const data = (
          verb === 'approve'
            ? await api.POST('/v1/admin/access-requests/{request}:approve', params)
            : await api.POST('/v1/admin/access-requests/{request}:deny', params)
        ).data!;
        return { json: data, text: `${table([data], ACCESS_COLUMNS)}\n${data.state === 'approved' ? `Approved until ${data.validUntil}.` : 'Denied.'}` };
      },
    );
  }
  action(
    access.command('reveal').description('reveal a sealed request to its tenant now (before its date)').argument('<request>'),
    emit,
    async ([request], o) => {
      const data = (await adminClient(o).POST('/v1/admin/access-requests/{request}:reveal', { params: { path: { request: request! } } })).data!;
      return { json: data, text: `Revealed ${data.revealed} sealed record(s) of ${data.accessRequest.id} into tenant ${data.accessRequest.tenant}'s log.` };
    },
  );
  action<{ state?: (typeof ACCESS_STATES)[number]; tenant?: string }>(
    withPaging(
      access
        .command('list')
        .description('list access requests')
        .addOption(choiceOption('--state <state>', 'only those in this state', ACCESS_STATES))
        .option('--tenant <id>', "only this tenant's"),
    ),
    emit,
    async (_, o) => {
      const api = adminClient(o);
      return listOutput(
        o,
        'accessRequests',
        async (page) =>
          (
            await api.GET('/v1/admin/access-requests', {
              params: { query: { ...page, ...(o.state ? { state: o.state } : {}), ...(o.tenant ? { tenant: o.tenant } : {}) } },
            })
          ).data!,
        ACCESS_COLUMNS,
      );
    },
  );
  action(access.command('get').description('show an access request').argument('<request>'), emit, async ([request], o) =>
    one((await adminClient(o).GET('/v1/admin/access-requests/{request}', { params: { path: { request: request! } } })).data!, ACCESS_COLUMNS),
  );
  action<{ name: string }>(
    access.command('use').description('use an approved request: snapshot the VM').argument('<request>').requiredOption('--name <name>', 'snapshot name'),
    emit,
    async ([request], o) => {
      const data = (await adminClient(o).POST('/v1/admin/access-requests/{request}:use', { params: { path: { request: request! } }, body: { name: o.name } }))
        .data!;
      return {
        json: data,
        text: `Snapshot ${data.snapshot.id} of ${data.snapshot.vm} (${data.snapshot.pages} ciphertext pages, by reference) under ${data.accessRequest.id}; recorded in the tenant's log.`,
      };
    },
  );
}

/** The tenant owner's side: see, approve and deny the provider's requests. */
export function tenantAccessCommands(program: Command, emit: Emit): void {
  const access = program.command('access').description("the provider's requests for access to your VMs");
  action<TenantOptions & { state?: (typeof ACCESS_STATES)[number] }>(
    withPaging(
      tenantOptions(access.command('list').description('list access requests')).addOption(
        choiceOption('--state <state>', 'only those in this state', ACCESS_STATES),
      ),
    ),
    emit,
    async (_, o) => {
      const api = tenantClient(o, []);
      return listOutput(
        o,
        'accessRequests',
        async (page) =>
          (
            await api.GET('/v1/tenants/{tenant}/access-requests', {
              params: { path: { tenant: o.tenant }, query: { ...page, ...(o.state ? { state: o.state } : {}) } },
            })
          ).data!,
        ACCESS_COLUMNS,
      );
    },
  );
  action<TenantOptions>(tenantOptions(access.command('show').description('show an access request').argument('<request>')), emit, async ([request], o) =>
    one(
      (await tenantClient(o, []).GET('/v1/tenants/{tenant}/access-requests/{request}', { params: { path: { tenant: o.tenant, request: request! } } })).data!,
      ACCESS_COLUMNS,
    ),
  );
  const policy = access.command('policy').description("what happens to the provider's requests, per reason, without asking you");
  action<TenantOptions>(tenantOptions(policy.command('show').description('the policy in force')), emit, async (_, o) => {
    const data = (await tenantClient(o, []).GET('/v1/tenants/{tenant}/access-policy', { params: { path: { tenant: o.tenant } } })).data!;
    return {
      json: data,
      text: table(data.rules, [
        ['REASON', (r) => r.reasonCode],
        ['DECISION', (r) => r.decision],
        ['AT MOST', (r) => (r.maxMinutes ? `${r.maxMinutes} min` : '-')],
      ]),
    };
  });
  action<TenantOptions & { rule: string[] }>(
    tenantOptions(policy.command('set').description('replace the policy (reasons not named: you decide)')).option(
      '--rule <reason=decision[:minutes]>',
      `e.g. maintenance=allow:30, third_party_request=deny (decisions: ${POLICY_DECISIONS.join(', ')}); repeat for each`,
      (v: string, all: string[] = []) => [...all, v],
    ),
    emit,
    async (_, o) => {
      const rules = (o.rule ?? []).map((text) => {
        const match = /^([a-z_]+)=(deny|approve|allow)(?::(\d+))?$/.exec(text.trim());
        if (!match || !(REASON_CODES as readonly string[]).includes(match[1]!))
          throw new UsageError(
            `--rule ${text}: write reason=decision[:minutes], reasons ${REASON_CODES.join(', ')}, decisions ${POLICY_DECISIONS.join(', ')}.`,
          );
        return {
          reasonCode: match[1] as (typeof REASON_CODES)[number],
          decision: match[2] as (typeof POLICY_DECISIONS)[number],
          ...(match[3] ? { maxMinutes: Number(match[3]) } : {}),
        };
      });
      const data = (await tenantClient(o, []).PUT('/v1/tenants/{tenant}/access-policy', { params: { path: { tenant: o.tenant } }, body: { rules } })).data!;
      return {
        json: data,
        text: table(data.rules, [
          ['REASON', (r) => r.reasonCode],
          ['DECISION', (r) => r.decision],
          ['AT MOST', (r) => (r.maxMinutes ? `${r.maxMinutes} min` : '-')],
        ]),
      };
    },
  );
  for (const verb of ['approve', 'deny'] as const) {
    action<TenantOptions>(tenantOptions(access.command(verb).description(`${verb} an access request`).argument('<request>')), emit, async ([request], o) => {
      const params = { params: { path: { tenant: o.tenant, request: request! } } };
      const api = tenantClient(o, []);
      const data = (
        verb === 'approve'
          ? await api.POST('/v1/tenants/{tenant}/access-requests/{request}:approve', params)
          : await api.POST('/v1/tenants/{tenant}/access-requests/{request}:deny', params)
      ).data!;
      const text =
        data.state === 'approved'
          ? `Approved ${data.id}: ${data.operation} on ${data.vm} until ${data.validUntil}. Every use will be in your audit log.`
          : `Denied ${data.id}.`;
      return { json: data, text };
    });
  }
}
