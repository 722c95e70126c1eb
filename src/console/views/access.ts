/**
 * The provider's requests to reach this tenant's VMs (the lockbox): approve or
 * deny each; the tenant's access policy per reason, and who decided each
 * request (the owner, the policy, or — break-glass — a second security admin).
 */
import { decideThen, problemBox } from '../api';
import type { components } from '../../sdk/client';
import { h, show, table } from '../dom';
import type { Session } from '../session';

type AccessRequest = components['schemas']['AccessRequest'];
type PolicyRule = components['schemas']['AccessPolicy']['rules'][number];

const DECISIONS: Record<PolicyRule['decision'], string> = { deny: 'denied at once', approve: 'you decide', allow: 'allowed at once' };

export async function accessView(session: Session): Promise<HTMLElement> {
  const tenant = session.tenant!;
  const body = h('div', {});
  const outcome = h('div', { 'aria-live': 'polite' });
  const policyBox = h('div', {});
  const render = async () => {
    const path = { tenant };
    const [listed, policy] = await Promise.all([
      session.api.GET('/v1/tenants/{tenant}/access-requests', { params: { path, query: { pageSize: 100 } } }),
      session.api.GET('/v1/tenants/{tenant}/access-policy', { params: { path } }),
    ]);
    const requests = listed.data!.accessRequests;
    const rules = policy.data!.rules;
    show(
      policyBox,
      table(
        ['reason', 'your policy'],
        rules.map((r) => [
          h('code', {}, r.reasonCode),
          h('span', {}, `${DECISIONS[r.decision]}${r.decision === 'allow' && r.maxMinutes ? `, for at most ${r.maxMinutes} min` : ''}`),
        ]),
        'Your access policy (custodes access policy set): break-glass and sealed legal requests are not yours to decide',
      ),
    );
    const decide = (r: AccessRequest, decision: 'approve' | 'deny') =>
      decideThen(
        outcome,
        async () => {
          const params = { path: { tenant, request: r.id } };
          if (decision === 'approve') await session.api.POST('/v1/tenants/{tenant}/access-requests/{request}:approve', { params });
          else await session.api.POST('/v1/tenants/{tenant}/access-requests/{request}:deny', { params });
          return `${decision === 'approve' ? 'Approved' : 'Denied'} ${r.id}.`;
        },
        render,
      );
    show(
      body,
      requests.length === 0
        ? h('p', {}, 'No access requests.')
        : table(
            ['request', 'VM', 'what', 'why', 'by', 'state', 'decided by', ''],
            requests.map((r) => [
              h('code', {}, r.id),
              h('code', {}, r.vm),
              h('span', {}, `${r.operation} for ${r.durationMinutes} min`),
              h('span', {}, `${r.reasonCode}: ${r.detail}`),
              h('span', {}, r.requester),
              h('span', {}, r.breakGlass ? h('strong', { class: 'exposed' }, `BREAK-GLASS ${r.state}`) : r.state),
              h('span', {}, r.decidedBy === 'policy' ? 'your policy' : r.decidedBy === 'tenant' ? 'you' : (r.decidedBy ?? '')),
              r.state === 'pending' && !r.breakGlass
                ? h(
                    'span',
                    {},
                    h('button', { type: 'button', onclick: () => void decide(r, 'approve') }, `Approve ${r.id}`),
                    ' ',
                    h('button', { type: 'button', onclick: () => void decide(r, 'deny') }, `Deny ${r.id}`),
                  )
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
  return h('section', { 'aria-labelledby': 'access-title' }, h('h2', { id: 'access-title' }, 'Access requests'), outcome, body, policyBox);
}
