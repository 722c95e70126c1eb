/** `custodes alerts create|list|delete`: a tenant's webhooks for the records it must hear of at once (issue 19). */
import type { Command } from 'commander';
import { ALERT_KINDS } from '../../audit/alerts/alert-rules';
import { action, choiceOption, one, type Emit } from '../context';
import { table, type Column } from '../table';
import { tenantClient, tenantOptions, type TenantOptions } from '../tenant-context';

interface AlertRule {
  id: string;
  kind: string;
  url: string;
  createdAt: string;
}

const ALERT_COLUMNS: Column<AlertRule>[] = [
  ['ID', (a) => a.id],
  ['KIND', (a) => a.kind],
  ['URL', (a) => a.url],
  ['CREATED', (a) => a.createdAt],
];

export function alertCommands(program: Command, emit: Emit): void {
  const alerts = program.command('alerts').description('push alerting records to a webhook as they commit, signed (tenant owner)');
  action<TenantOptions & { kind: (typeof ALERT_KINDS)[number]; webhook: string }>(
    tenantOptions(alerts.command('create').description('a rule: every record of this kind is POSTed to --webhook, signed, once'))
      .addOption(choiceOption('--kind <kind>', 'admin_attempt, labelled_read, toolstack_denied or access_use', [...ALERT_KINDS], true))
      .requiredOption('--webhook <url>', 'where to POST deliveries (https to a public host; the emulator: http://127.0.0.1 only)'),
    emit,
    async (_, o) =>
      one(
        (await tenantClient(o, []).POST('/v1/tenants/{tenant}/alerts', { params: { path: { tenant: o.tenant } }, body: { kind: o.kind, url: o.webhook } }))
          .data!,
        ALERT_COLUMNS,
      ),
  );
  action<TenantOptions>(tenantOptions(alerts.command('list').description("list the tenant's alert rules")), emit, async (_, o) => {
    const { alerts: rules } = (await tenantClient(o, []).GET('/v1/tenants/{tenant}/alerts', { params: { path: { tenant: o.tenant } } })).data!;
    return { json: { alerts: rules }, text: table(rules, ALERT_COLUMNS) };
  });
  action<TenantOptions>(tenantOptions(alerts.command('delete').description('delete an alert rule').argument('<id>')), emit, async ([id], o) => {
    await tenantClient(o, []).DELETE('/v1/tenants/{tenant}/alerts/{alert}', { params: { path: { tenant: o.tenant, alert: id! } } });
    return { json: { deleted: id }, text: `Deleted alert rule ${id}.` };
  });
}
