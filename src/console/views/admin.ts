/** The admin views: pending change requests (what exactly will execute), and hosts with their placement and free capacity. */
import { decideThen, problemBox } from '../api';
import type { components } from '../../sdk/client';
import { h, show, table } from '../dom';
import type { Session } from '../session';

type Change = components['schemas']['ChangeRequest'];

export async function changesView(session: Session): Promise<HTMLElement> {
  const list = h('div', {});
  const outcome = h('div', { 'aria-live': 'polite' });
  const render = async () => {
    const { changes } = (await session.api.GET('/v1/admin/changes', { params: { query: { state: 'pending', pageSize: 100 } } })).data!;
    const decide = (c: Change, decision: 'approve' | 'deny') =>
      decideThen(
        outcome,
        async () => {
          const params = { path: { change: c.id } };
          const state =
            decision === 'approve'
              ? (await session.api.POST('/v1/admin/changes/{change}:approve', { params })).data!.change.state
              : (await session.api.POST('/v1/admin/changes/{change}:deny', { params })).data!.state;
          return `${c.id}: ${state}`;
        },
        render,
      );
    show(
      list,
      changes.length === 0
        ? h('p', {}, 'No change request waits for a second admin.')
        : changes.map((c) =>
            h(
              'article',
              { class: 'change', 'aria-labelledby': `chg-${c.id}` },
              h('h3', { id: `chg-${c.id}` }, `${c.operation} on ${c.target.type} ${c.target.id}`),
              h(
                'dl',
                {},
                h('dt', {}, 'Request'),
                h('dd', {}, h('code', {}, c.id)),
                h('dt', {}, 'Proposed by'),
                h('dd', {}, c.proposer),
                h('dt', {}, 'Needs the role'),
                h('dd', {}, c.requiredRole),
                h('dt', {}, 'Tenants it touches'),
                h('dd', {}, c.tenants.join(', ') || 'none'),
                h('dt', {}, 'Target pinned at revision'),
                h('dd', {}, c.targetRevision === null ? '—' : String(c.targetRevision)),
                h('dt', {}, 'Expires'),
                h('dd', {}, c.expiresAt),
                h('dt', {}, 'What executes'),
                h('dd', {}, h('pre', {}, JSON.stringify({ operation: c.operation, target: c.target, params: c.params }, null, 2))),
              ),
              h('button', { type: 'button', disabled: c.proposer === session.principal, onclick: () => void decide(c, 'approve') }, `Approve ${c.id}`),
              ' ',
              h('button', { type: 'button', disabled: c.proposer === session.principal, onclick: () => void decide(c, 'deny') }, `Deny ${c.id}`),
              c.proposer === session.principal ? h('p', {}, 'You proposed it: another admin must decide.') : null,
            ),
          ),
    );
  };
  try {
    await render();
  } catch (error) {
    show(list, problemBox(error));
  }
  return h('section', { 'aria-labelledby': 'changes-title' }, h('h2', { id: 'changes-title' }, 'Pending change requests'), outcome, list);
}

export async function hostsView(session: Session): Promise<HTMLElement> {
  const section = h('section', { 'aria-labelledby': 'hosts-title' }, h('h2', { id: 'hosts-title' }, 'Hosts'));
  try {
    const { hosts } = (await session.api.GET('/v1/admin/hosts', { params: { query: { pageSize: 100 } } })).data!;
    const bar = (used: number, total: number) => h('meter', { min: 0, max: total, value: used, title: `${used} of ${total}` }, `${used} of ${total}`);
    section.append(
      table(
        ['host', 'state', 'VMs', 'vCPUs used', 'memory used (MiB)', 'free vCPUs', 'free memory (MiB)'],
        hosts.map((x) => [
          h('span', {}, `${x.name} `, h('code', {}, x.id)),
          h('span', {}, x.state),
          h('span', {}, String(x.allocated.vms)),
          h('span', {}, bar(x.allocated.vcpus, x.vcpus), ` ${x.allocated.vcpus}/${x.vcpus}`),
          h('span', {}, bar(x.allocated.memoryMiB, x.memoryMiB), ` ${x.allocated.memoryMiB}/${x.memoryMiB}`),
          h('strong', {}, String(x.vcpus - x.allocated.vcpus)),
          h('strong', {}, String(x.memoryMiB - x.allocated.memoryMiB)),
        ]),
        'Placement and free capacity',
      ),
    );
  } catch (error) {
    section.append(problemBox(error));
  }
  return section;
}
