/**
 * The tenant's incident commands (DESIGN §6): `custodes label`, `custodes
 * exposure` (who read which labelled secret) and `custodes recover` (plan,
 * show, list, apply, revert). Each prints a table meant for a person in the
 * middle of an incident, and the API's JSON with --json.
 */
import { tenantApi, type Output, type TenantContext } from './tenant-cli';
import { table } from './table';

const regionOf = (r: { space: string; vm?: string; disk?: string; start: number; count: number }) =>
  `${r.space === 'memory' ? `${r.vm} memory` : `${r.disk} blocks`} ${r.start}–${r.start + r.count - 1}`;

const LABEL_COLUMNS: [string, (l: any) => unknown][] = [['NAME', (l) => l.name], ['REGION', regionOf], ['REVISION', (l) => l.revision], ['UPDATED', (l) => l.updatedAt]];

export async function labelCommand(ctx: TenantContext, verb: string, args: { name?: string; vm?: string; disk?: string; start?: number; count?: number }): Promise<Output> {
  const api = tenantApi(ctx, `label ${verb}`);
  const tenant = ctx.tenant;
  if (verb === 'set') {
    if (!!args.vm === !!args.disk) throw new Error('label set: name exactly one of --vm (memory pages) or --disk (disk blocks).');
    const region = args.vm ? { space: 'memory' as const, vm: args.vm } : { space: 'disk' as const, disk: args.disk! };
    const { data } = await api.PUT('/v1/tenants/{tenant}/labels/{name}', { params: { path: { tenant, name: args.name! } }, body: { ...region, start: args.start!, count: args.count! } });
    return { json: data, text: table([data!], LABEL_COLUMNS) };
  }
  if (verb === 'list') {
    const { data } = await api.GET('/v1/tenants/{tenant}/labels', { params: { path: { tenant }, query: { pageSize: 100 } } });
    return { json: data, text: table(data!.labels, LABEL_COLUMNS) };
  }
  if (verb === 'delete') {
    await api.DELETE('/v1/tenants/{tenant}/labels/{name}', { params: { path: { tenant, name: args.name! } } });
    return { json: { deleted: args.name }, text: `Deleted label ${args.name}.` };
  }
  throw new Error(`unknown label command ${verb}`);
}

export async function exposureCommand(ctx: TenantContext, filter: { label?: string; actor?: string; from?: string; to?: string }): Promise<Output> {
  const api = tenantApi(ctx, 'exposure');
  const { data } = await api.GET('/v1/tenants/{tenant}/exposure', { params: { path: { tenant: ctx.tenant }, query: filter } });
  const rows: { label: any; read: any }[] = [];
  for (const label of data!.labels) {
    if (label.reads.length === 0) rows.push({ label, read: null });
    for (const read of label.reads) rows.push({ label, read });
  }
  const text = table(rows, [
    ['LABEL', (r) => r.label.name],
    ['REGION', (r) => regionOf(r.label)],
    ['EXPOSED', (r) => (r.label.exposed ? 'YES' : 'no')],
    ['RECORD', (r) => r.read?.auditIndex ?? '-'],
    ['TIME', (r) => r.read?.time ?? '-'],
    ['READER', (r) => (r.read ? `${r.read.actor.type} ${r.read.actor.id ?? ''}`.trim() : '-')],
    ['TOKEN (jti)', (r) => r.read?.jti ?? '-'],
    ['PAGES@VERSION', (r) => r.read?.pages.map((p: { index: number; version: number }) => `${p.index}@${p.version}`).join(' ') ?? '-'],
  ]);
  const exposed = data!.labels.filter((l) => l.exposed).map((l) => l.name);
  const summary = exposed.length > 0 ? `Exposed: ${exposed.join(', ')}. Rotate what those regions hold; each read is in your log at the RECORD index.` : 'No labelled region was read.';
  return { json: data, text: `${text}\n${summary}` };
}

export interface PlanArgs {
  mode: 'undo' | 'replay';
  actors?: string[];
  sessions?: string[];
  actions?: number[];
  revoke?: string[];
  from?: string;
  to?: string;
}

type Plan = { id: string; mode: string; state: string; logSize: number; taintedActions: number[]; changes: any[]; disclosures: any[]; conflicts: any[]; sessions: any[] };

function describePlan(plan: Plan): string {
  const lines = [
    `Plan ${plan.id} (${plan.mode}, ${plan.state}) over records 0–${plan.logSize - 1}.`,
    `${plan.mode === 'undo' ? 'Tainted actions' : 'Actions the patch denies'}: ${plan.taintedActions.length ? plan.taintedActions.join(', ') : 'none'}.`,
  ];
  if (plan.sessions.length) lines.push(`Sessions tainted by reading tainted data: ${plan.sessions.map((s) => `${s.session} from record ${s.from}`).join('; ')}.`);
  lines.push('', plan.changes.length ? table(plan.changes, [['TARGET', (c) => c.target], ['SPACE', (c) => c.space], ['PAGE', (c) => c.index], ['NOW', (c) => `v${c.fromVersion}`], ['GOES BACK TO', (c) => (c.toVersion === 0 ? 'unwritten' : `v${c.toVersion}`)]]) : 'No page changes.');
  if (plan.disclosures.length) {
    lines.push('', 'Disclosures (reads by the attack; they cannot be undone):');
    lines.push(table(plan.disclosures, [['RECORD', (d) => d.auditIndex], ['TIME', (d) => d.time], ['READER', (d) => d.actor.id], ['PAGES@VERSION', (d) => d.pages.map((p: any) => `${p.resource}:${p.index}@${p.version}`).join(' ')]]));
  }
  if (plan.conflicts.length) {
    lines.push('', 'Conflicts (legitimate actions whose inputs do not exist under the patch; review them):');
    lines.push(table(plan.conflicts, [['RECORD', (c) => c.auditIndex], ['ACTOR', (c) => c.actor], ['SESSION', (c) => c.session], ['MISSING', (c) => c.missing.map((m: any) => `${m.resource}:${m.index}@${m.version}`).join(' ')]]));
  }
  if (plan.state === 'planned') lines.push('', `Nothing has changed yet: \`custodes recover apply ${plan.id}\` applies it; \`custodes recover revert ${plan.id}\` undoes that.`);
  return lines.join('\n');
}

export async function recoverCommand(ctx: TenantContext, verb: string, args: { id?: string; plan?: PlanArgs }): Promise<Output> {
  const api = tenantApi(ctx, `recover ${verb}`);
  const tenant = ctx.tenant;
  if (verb === 'plan') {
    const p = args.plan!;
    const body =
      p.mode === 'undo'
        ? { mode: 'undo' as const, seeds: { ...(p.actors ? { actors: p.actors } : {}), ...(p.sessions ? { tokens: p.sessions } : {}), ...(p.actions ? { actions: p.actions } : {}), ...(p.from ? { from: p.from } : {}), ...(p.to ? { to: p.to } : {}) } }
        : { mode: 'replay' as const, patch: { revoke: (p.revoke ?? []).map((principal) => ({ principal, from: p.from! })) } };
    const { data } = await api.POST('/v1/tenants/{tenant}/recovery/plans', { params: { path: { tenant } }, body });
    return { json: data, text: describePlan(data as Plan) };
  }
  if (verb === 'list') {
    const { data } = await api.GET('/v1/tenants/{tenant}/recovery/plans', { params: { path: { tenant }, query: { pageSize: 100 } } });
    return { json: data, text: table(data!.plans, [['ID', (p) => p.id], ['MODE', (p) => p.mode], ['STATE', (p) => p.state], ['TAINTED', (p) => p.taintedActions.length], ['CHANGES', (p) => p.changes.length], ['CREATED', (p) => p.createdAt]]) };
  }
  const path = { tenant, plan: args.id! };
  if (verb === 'show') {
    const { data } = await api.GET('/v1/tenants/{tenant}/recovery/plans/{plan}', { params: { path } });
    return { json: data, text: describePlan(data as Plan) };
  }
  if (verb === 'apply' || verb === 'revert') {
    const { data } =
      verb === 'apply' ? await api.POST('/v1/tenants/{tenant}/recovery/plans/{plan}:apply', { params: { path } }) : await api.POST('/v1/tenants/{tenant}/recovery/plans/{plan}:revert', { params: { path } });
    const n = data!.plan.changes.length;
    return {
      json: data,
      text: verb === 'apply'
        ? `Applied ${path.plan}: ${n} page${n === 1 ? '' : 's'} moved back, atomically (audit record ${data!.auditIndex}). \`custodes recover revert ${path.plan}\` undoes it.`
        : `Reverted ${path.plan}: ${n} page${n === 1 ? '' : 's'} back where they were before it was applied (audit record ${data!.auditIndex}).`,
    };
  }
  throw new Error(`unknown recover command ${verb}`);
}
