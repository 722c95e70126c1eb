/** The provider's requests to reach this tenant's VMs (the lockbox): approve or deny each. */
import { call, decideThen, problemBox } from '../api';
import { h, show, table } from '../dom';
import type { Session } from '../session';

interface AccessRequest { id: string; vm: string; operation: string; reasonCode: string; detail: string; durationMinutes: number; requester: string; state: string; createdAt: string }

export async function accessView(session: Session): Promise<HTMLElement> {
  const tenant = session.tenant!;
  const body = h('div', {});
  const outcome = h('div', { 'aria-live': 'polite' });
  const render = async () => {
    const { accessRequests: requests } = await call<{ accessRequests: AccessRequest[] }>(session, 'GET', `/v1/tenants/${tenant}/access-requests?pageSize=100`);
    const decide = (r: AccessRequest, decision: 'approve' | 'deny') =>
      decideThen(outcome, async () => (await call(session, 'POST', `/v1/tenants/${tenant}/access-requests/${r.id}:${decision}`), `${decision === 'approve' ? 'Approved' : 'Denied'} ${r.id}.`), render);
    show(
      body,
      requests.length === 0
        ? h('p', {}, 'No access requests.')
        : table(
            ['request', 'VM', 'what', 'why', 'by', 'state', ''],
            requests.map((r) => [
              h('code', {}, r.id),
              h('code', {}, r.vm),
              h('span', {}, `${r.operation} for ${r.durationMinutes} min`),
              h('span', {}, `${r.reasonCode}: ${r.detail}`),
              h('span', {}, r.requester),
              h('span', {}, r.state),
              r.state === 'pending'
                ? h('span', {}, h('button', { type: 'button', onclick: () => void decide(r, 'approve') }, `Approve ${r.id}`), ' ', h('button', { type: 'button', onclick: () => void decide(r, 'deny') }, `Deny ${r.id}`))
                : h('span', {}, ''),
            ]),
            'Access requests to this tenant',
          ),
    );
  };
  try {
    await render();
  } catch (error) {
    show(body, problemBox(error));
  }
  return h('section', { 'aria-labelledby': 'access-title' }, h('h2', { id: 'access-title' }, 'Access requests'), outcome, body);
}
