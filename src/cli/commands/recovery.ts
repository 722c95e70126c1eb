/**
 * The tenant's incident commands (docs/design.md §6): `custodes label`, `custodes
 * exposure` (who read which labelled secret) and `custodes recover` (plan,
 * show, list, apply, revert). Each prints a table meant for a person in the
 * middle of an incident, and the API's JSON with --json.
 */
import type { Command } from 'commander';
import type { components } from '../../sdk/client';
import { action, choiceOption, commaList, defined, listOutput, numberOption, one, UsageError, withPaging, type Emit } from '../context';
import { table, type Column } from '../table';
import { tenantClient, tenantOptions, type TenantOptions } from '../tenant-context';
import { keystorePath, loadKeystore, saveKeystore } from '../keystore-file';
import { rotateDataKeys } from '../../sdk/rotation';

type Schemas = components['schemas'];

const regionOf = (r: { space: string; vm?: string; disk?: string; start: number; count: number }) =>
  `${r.space === 'memory' ? `${r.vm} memory` : `${r.disk} blocks`} ${r.start}–${r.start + r.count - 1}`;

const LABEL_COLUMNS: Column<Schemas['Label']>[] = [
  ['NAME', (l) => l.name],
  ['REGION', regionOf],
  ['REVISION', (l) => l.revision],
  ['UPDATED', (l) => l.updatedAt],
];

export function labelCommands(program: Command, emit: Emit): void {
  const labels = program.command('label').description('name the regions that hold secrets, to see who read them');
  action<TenantOptions & { vm?: string; disk?: string; start: number; count: number }>(
    tenantOptions(labels.command('set').description('label memory pages (--vm) or disk blocks (--disk)').argument('<name>'))
      .option('--vm <id>', 'memory pages of this VM')
      .option('--disk <id>', 'blocks of this disk')
      .addOption(numberOption('--start <index>', 'first page or block', true))
      .addOption(numberOption('--count <n>', 'how many', true)),
    emit,
    async ([name], o) => {
      if (!!o.vm === !!o.disk) throw new UsageError('label set: name exactly one of --vm (memory pages) or --disk (disk blocks).');
      const region = o.vm ? { space: 'memory' as const, vm: o.vm } : { space: 'disk' as const, disk: o.disk! };
      const data = (
        await tenantClient(o, ['labels']).PUT('/v1/tenants/{tenant}/labels/{name}', {
          params: { path: { tenant: o.tenant, name: name! } },
          body: { ...region, start: o.start, count: o.count },
        })
      ).data!;
      return one(data, LABEL_COLUMNS);
    },
  );
  action<TenantOptions>(withPaging(tenantOptions(labels.command('list').description('list labels'))), emit, async (_, o) => {
    const api = tenantClient(o, ['labels']);
    return listOutput(
      o,
      'labels',
      async (query) => (await api.GET('/v1/tenants/{tenant}/labels', { params: { path: { tenant: o.tenant }, query } })).data!,
      LABEL_COLUMNS,
    );
  });
  action<TenantOptions>(tenantOptions(labels.command('delete').description('delete a label').argument('<name>')), emit, async ([name], o) => {
    await tenantClient(o, ['labels']).DELETE('/v1/tenants/{tenant}/labels/{name}', { params: { path: { tenant: o.tenant, name: name! } } });
    return { json: { deleted: name }, text: `Deleted label ${name}.` };
  });
}

type ExposureRow = { label: Schemas['LabelExposure']; read: Schemas['ExposureRead'] | null };
const EXPOSURE_COLUMNS: Column<ExposureRow>[] = [
  ['LABEL', (r) => r.label.name],
  ['REGION', (r) => regionOf(r.label)],
  ['EXPOSED', (r) => (r.label.exposed ? 'YES' : 'no')],
  ['RECORD', (r) => r.read?.auditIndex ?? '-'],
  ['TIME', (r) => r.read?.time ?? '-'],
  ['READER', (r) => (r.read ? `${r.read.actor.type} ${r.read.actor.id ?? ''}`.trim() : '-')],
  ['TOKEN (jti)', (r) => r.read?.jti ?? '-'],
  ['PAGES@VERSION', (r) => r.read?.pages.map((p) => `${p.index}@${p.version}`).join(' ') ?? '-'],
];

export function exposureCommand(program: Command, emit: Emit): void {
  action<TenantOptions & { label?: string; actor?: string; from?: string; to?: string }>(
    tenantOptions(program.command('exposure').description('who read which labelled region, and which versions'))
      .option('--label <name>', 'only this label')
      .option('--actor <id>', 'only this reader')
      .option('--from <time>', 'reads at or after (RFC 3339)')
      .option('--to <time>', 'reads before (RFC 3339)'),
    emit,
    async (_, o) => {
      const filter = defined({ label: o.label, actor: o.actor, from: o.from, to: o.to });
      // Every page: a report that stopped at the first page could hide an exposed label.
      const api = tenantClient(o, ['audit:read']);
      const data: { labels: Schemas['Exposure']['labels'] } = { labels: [] };
      for (let pageToken: string | undefined; ; ) {
        const page = (
          await api.GET('/v1/tenants/{tenant}/exposure', {
            params: { path: { tenant: o.tenant }, query: { ...filter, pageSize: 100, ...(pageToken ? { pageToken } : {}) } },
          })
        ).data!;
        data.labels.push(...page.labels);
        pageToken = page.nextPageToken;
        if (!pageToken) break;
      }
      const rows: ExposureRow[] = data.labels.flatMap((label) =>
        label.reads.length === 0 ? [{ label, read: null }] : label.reads.map((read): ExposureRow => ({ label, read })),
      );
      const exposed = data.labels.filter((l) => l.exposed).map((l) => l.name);
      const summary =
        exposed.length > 0
          ? `Exposed: ${exposed.join(', ')}. Rotate what those regions hold; each read is in your log at the RECORD index.`
          : 'No labelled region was read.';
      return { json: data, text: `${table(rows, EXPOSURE_COLUMNS)}\n${summary}` };
    },
  );
}

type Plan = Schemas['RecoveryPlan'];

/** Columns of an object image not worth a table cell: keys, bookkeeping, key material. */
const UNSHOWN_COLUMNS = new Set(['id', 'tenant_id', 'created_at', 'updated_at', 'revision', 'jwk', 'kid', 'wrapped', 'revoked_at', '_items']);

/** An object image in a few words: `absent`, or its telling columns (`state=revoked scopes=…`). */
function describeImage(image: Record<string, unknown> | null): string {
  if (image === null) return 'absent';
  const shown = Object.entries(image).filter(([column, value]) => !UNSHOWN_COLUMNS.has(column) && value !== null);
  return shown.map(([column, value]) => `${column}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ') || 'present';
}

function describePlan(plan: Plan): string {
  const lines = [
    `Plan ${plan.id} (${plan.mode}, ${plan.state}) over records 0–${plan.logSize - 1}.`,
    `${plan.mode === 'undo' ? 'Tainted actions' : 'Actions the patch denies'}: ${plan.taintedActions.length ? plan.taintedActions.join(', ') : 'none'}.`,
  ];
  if (plan.sessions.length)
    lines.push(`Sessions tainted by reading tainted data: ${plan.sessions.map((s) => `${s.session} from record ${s.from}`).join('; ')}.`);
  lines.push(
    '',
    plan.changes.length
      ? table(plan.changes, [
          ['TARGET', (c) => c.target],
          ['SPACE', (c) => c.space],
          ['PAGE', (c) => c.index],
          ['NOW', (c) => `v${c.fromVersion}`],
          ['GOES BACK TO', (c) => (c.toVersion === 0 ? 'unwritten' : `v${c.toVersion}`)],
        ])
      : 'No page changes.',
  );
  if (plan.objectChanges.length) {
    lines.push('', 'Objects restored (toolstacks, keys, labels, disks, snapshots, power states):');
    lines.push(
      table(plan.objectChanges, [
        ['OBJECT', (o) => `${o.kind} ${o.key.join('/')}`],
        ['NOW', (o) => describeImage(o.from)],
        ['BECOMES', (o) => describeImage(o.to)],
        ['BY RECORDS', (o) => o.actions.join(', ')],
      ]),
    );
  }
  if (plan.irreversible.length) {
    lines.push('', 'Cannot be undone:');
    lines.push(
      table(plan.irreversible, [
        ['RECORD', (i) => i.auditIndex],
        ['ACTION', (i) => i.action],
        ['WHY', (i) => i.why],
      ]),
    );
  }
  if (plan.disclosures.length) {
    lines.push('', 'Disclosures (reads by the attack; they cannot be undone):');
    lines.push(
      table(plan.disclosures, [
        ['RECORD', (d) => d.auditIndex],
        ['TIME', (d) => d.time],
        ['READER', (d) => d.actor.id],
        ['PAGES@VERSION', (d) => d.pages.map((p) => `${p.resource}:${p.index}@${p.version}`).join(' ')],
      ]),
    );
  }
  if (plan.conflicts.length) {
    lines.push('', 'Conflicts (legitimate actions whose inputs do not exist under the patch; review them):');
    lines.push(
      table(plan.conflicts, [
        ['RECORD', (c) => c.auditIndex],
        ['ACTOR', (c) => c.actor],
        ['SESSION', (c) => c.session],
        ['MISSING', (c) => c.missing.map((m) => `${m.resource}:${m.index}@${m.version}`).join(' ')],
      ]),
    );
  }
  if (plan.state === 'planned')
    lines.push('', `Nothing has changed yet: \`custodes recover apply ${plan.id}\` applies it; \`custodes recover revert ${plan.id}\` undoes that.`);
  return lines.join('\n');
}

const PLAN_COLUMNS: Column<Schemas['RecoveryPlan']>[] = [
  ['ID', (p) => p.id],
  ['MODE', (p) => p.mode],
  ['STATE', (p) => p.state],
  ['TAINTED', (p) => p.taintedActions.length],
  ['CHANGES', (p) => p.changes.length],
  ['CREATED', (p) => p.createdAt],
];

interface PlanOptions extends TenantOptions {
  /** Commander admits only these (choiceOption). */
  mode: 'undo' | 'replay';
  actor?: string[];
  session?: string[];
  actions?: string[];
  revoke?: string[];
  from?: string;
  to?: string;
}

/** `recover plan` options as a plan request; what is missing or malformed is a usage error. */
function planRequest(o: PlanOptions): Schemas['CreateRecoveryPlan'] {
  if (o.mode === 'undo') {
    const actions = o.actions?.map((a) => {
      if (!/^\d+$/.test(a)) throw new UsageError(`--actions takes audit indexes (e.g. 12,15); got ${JSON.stringify(a)}.`);
      return Number(a);
    });
    if (!o.actor && !o.session && !actions) throw new UsageError('recover plan --mode undo needs seeds: --actor ID,…, --session SID,… or --actions N,….');
    const seeds = {
      ...(o.actor ? { actors: o.actor } : {}),
      ...(o.session ? { tokens: o.session } : {}),
      ...(actions ? { actions } : {}),
      ...(o.from ? { from: o.from } : {}),
      ...(o.to ? { to: o.to } : {}),
    };
    return { mode: 'undo', seeds };
  }
  if (!o.revoke || !o.from) throw new UsageError('recover plan --mode replay needs --revoke ID,… and --from TIME (the instant the revocation takes effect).');
  return { mode: 'replay', patch: { revoke: o.revoke.map((principal) => ({ principal, from: o.from! })) } };
}

export function recoverCommands(program: Command, emit: Emit): void {
  const recover = program.command('recover').description("undo an intrusion's effects, and only those");
  action<PlanOptions>(
    tenantOptions(recover.command('plan').description('plan a recovery (nothing changes until apply)'))
      .addOption(choiceOption('--mode <mode>', 'undo (from seeds) or replay (with a revocation patch)', ['undo', 'replay'], true))
      .option('--actor <ids>', "undo: the attacker's principals", commaList)
      .option('--session <sids>', "undo: the attacker's sessions", commaList)
      .option('--actions <indexes>', "undo: audit indexes of the attacker's actions", commaList)
      .option('--revoke <ids>', 'replay: principals revoked from --from on', commaList)
      .option('--from <time>', 'undo: seeds at or after; replay: when the revocation takes effect')
      .option('--to <time>', 'undo: seeds before'),
    emit,
    async (_, o) => {
      const data = (
        await tenantClient(o, ['recovery']).POST('/v1/tenants/{tenant}/recovery/plans', { params: { path: { tenant: o.tenant } }, body: planRequest(o) })
      ).data!;
      return { json: data, text: describePlan(data) };
    },
  );
  action<TenantOptions & { label: string[] }>(
    tenantOptions(
      recover.command('rotate').description('after an exposure: re-seal under a new data key and retire the keys the exposed versions were sealed with'),
    ).requiredOption('--label <names>', 'the exposed labels (comma-separated)', commaList),
    emit,
    async (_, o) => {
      const path = keystorePath(o);
      const api = tenantClient(o, ['audit:read', 'keys', 'recovery', 'memory:read', 'memory:write', 'disk:read', 'disk:write']);
      const result = await rotateDataKeys(api, loadKeystore(path), {
        tenant: o.tenant,
        labels: o.label,
        onKeystoreChange: (keystore) => saveKeystore(path, keystore),
      });
      const pages = result.resealed.reduce((n, r) => n + r.pages.length, 0);
      return {
        json: result,
        text: `Rotated at ${result.rotatedAt} (record ${result.auditIndex}): ${pages} page(s) re-sealed under data key ${result.newKey ?? '(none needed)'}; retired ${result.retired.join(', ')} — their wrapped copies are deleted, so the versions the exposure report lists can no longer be opened.`,
      };
    },
  );
  action<TenantOptions>(withPaging(tenantOptions(recover.command('list').description('list recovery plans'))), emit, async (_, o) => {
    const api = tenantClient(o, ['recovery']);
    return listOutput(
      o,
      'plans',
      async (query) => (await api.GET('/v1/tenants/{tenant}/recovery/plans', { params: { path: { tenant: o.tenant }, query } })).data!,
      PLAN_COLUMNS,
    );
  });
  action<TenantOptions>(tenantOptions(recover.command('show').description('show a plan').argument('<plan>')), emit, async ([plan], o) => {
    const data = (
      await tenantClient(o, ['recovery']).GET('/v1/tenants/{tenant}/recovery/plans/{plan}', { params: { path: { tenant: o.tenant, plan: plan! } } })
    ).data!;
    return { json: data, text: describePlan(data) };
  });
  for (const verb of ['apply', 'revert'] as const) {
    action<TenantOptions>(
      tenantOptions(
        recover
          .command(verb)
          .description(verb === 'apply' ? 'apply a plan, atomically' : 'undo an applied plan')
          .argument('<plan>'),
      ),
      emit,
      async ([plan], o) => {
        const api = tenantClient(o, ['recovery']);
        const params = { params: { path: { tenant: o.tenant, plan: plan! } } };
        const data = (
          verb === 'apply'
            ? await api.POST('/v1/tenants/{tenant}/recovery/plans/{plan}:apply', params)
            : await api.POST('/v1/tenants/{tenant}/recovery/plans/{plan}:revert', params)
        ).data!;
        const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
        const moved = `${plural(data.plan.changes.length, 'page')} and ${plural(data.plan.objectChanges.length, 'object')}`;
        return {
          json: data,
          text:
            verb === 'apply'
              ? `Applied ${plan}: ${moved} moved back, atomically (audit record ${data.auditIndex}). \`custodes recover revert ${plan}\` undoes it.`
              : `Reverted ${plan}: ${moved} back where they were before it was applied (audit record ${data.auditIndex}).`,
        };
      },
    );
  }
}
