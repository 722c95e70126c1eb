/**
 * Recovery: an undo plan seeded with an actor or a session, previewed before
 * it is applied — the pages that roll back and the versions they go to, the
 * legitimate writes that survive, the disclosures to rotate — then applied,
 * and reverted if need be. The server computes the plan (docs/design.md §6); the
 * preview reads the tenant's log to name the actions.
 */
import { problemBox } from '../api';
import type { components } from '../../sdk/client';
import { field, h, show, table } from '../dom';
import type { LoadedRecord } from '../log';
import type { Session } from '../session';

type Plan = components['schemas']['RecoveryPlan'];

export function recoveryView(session: Session, records: readonly LoadedRecord[], reload: () => void): HTMLElement {
  const actors = [...new Set(records.map((r) => r.record.actor.id).filter((id): id is string => !!id))].sort();
  const kind = h(
    'select',
    { name: 'seed-kind' },
    h('option', { value: 'actor' }, 'an actor (principal)'),
    h('option', { value: 'session' }, 'a session (token sid or jti)'),
  );
  const value = h('input', { name: 'seed', list: 'known-actors', placeholder: 'tsk_… or a session id', required: true });
  const preview = h('div', { 'aria-live': 'polite' });
  const tenant = session.tenant!;

  const describe = (plan: Plan) => {
    const byIndex = new Map(records.map((r) => [r.index, r.record]));
    const tainted = new Set(plan.taintedActions);
    const rolled = new Set(plan.changes.map((c) => `${c.target}/${c.index}`));
    // Legitimate writes after the attack began whose versions stay: the plan leaves them alone.
    const firstTainted = Math.min(...plan.taintedActions);
    const survivors = records
      .filter((r) => r.index > firstTainted && !tainted.has(r.index) && r.record.outcome === 'allowed')
      .flatMap((r) => (r.record.regions ?? []).filter((g) => g.access === 'write' && !rolled.has(`${g.resource}/${g.index}`)).map((g) => ({ r, g })));
    const actions = plan.taintedActions.map((i) => byIndex.get(i)).filter(Boolean);
    return h(
      'div',
      { class: 'plan' },
      h('h3', {}, `Plan ${plan.id} (${plan.state})`),
      h(
        'p',
        {},
        `${plan.taintedActions.length} tainted action(s): `,
        actions.slice(0, 20).map((a, i) => h('code', {}, `#${plan.taintedActions[i]} ${a!.action}${i < Math.min(actions.length, 20) - 1 ? ', ' : ''}`)),
      ),
      plan.changes.length
        ? table(
            ['resource', 'page', 'current version', 'goes back to'],
            plan.changes.map((c) => [
              h('span', {}, `${c.space} ${c.target}`),
              h('span', {}, String(c.index)),
              h('span', {}, `v${c.fromVersion}`),
              h('strong', {}, c.toVersion ? `v${c.toVersion}` : 'unwritten'),
            ]),
            'Pages that roll back',
          )
        : h('p', {}, 'No page rolls back.'),
      survivors.length
        ? table(
            ['record', 'actor', 'page', 'version kept'],
            survivors
              .slice(0, 50)
              .map(({ r, g }) => [
                h('span', {}, `#${r.index}`),
                h('span', {}, r.record.actor.id ?? r.record.actor.type),
                h('span', {}, `${g.resource} ${g.index}`),
                h('span', {}, `v${g.version}`),
              ]),
            'Legitimate writes that survive',
          )
        : h('p', {}, 'No legitimate write after the attack touches these pages.'),
      plan.disclosures.length
        ? table(
            ['record', 'when', 'who', 'pages read'],
            plan.disclosures.map((d) => [
              h('span', {}, `#${d.auditIndex}`),
              h('span', {}, d.time.replace('T', ' ').slice(0, 19)),
              h('span', {}, d.actor.id ?? d.actor.type),
              h('span', {}, d.pages.map((p) => `${p.index}@v${p.version}`).join(' ')),
            ]),
            'Disclosures: reads cannot be undone — rotate what they exposed',
          )
        : h('p', {}, 'The attack read nothing.'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', disabled: plan.state !== 'planned', onclick: () => void transition(plan, 'apply') }, 'Apply the plan'),
        h('button', { type: 'button', disabled: plan.state !== 'applied', onclick: () => void transition(plan, 'revert') }, 'Revert it'),
      ),
    );
  };
  const transition = async (plan: Plan, step: 'apply' | 'revert') => {
    try {
      const params = { path: { tenant, plan: plan.id } };
      const { plan: next } =
        step === 'apply'
          ? (await session.api.POST('/v1/tenants/{tenant}/recovery/plans/{plan}:apply', { params })).data!
          : (await session.api.POST('/v1/tenants/{tenant}/recovery/plans/{plan}:revert', { params })).data!;
      show(
        preview,
        h('p', { role: 'status', class: 'verdict ok' }, step === 'apply' ? `Applied plan ${next.id}: the pages are back.` : `Reverted plan ${next.id}.`),
        describe(next),
      );
      void listPlans();
      reload();
    } catch (error) {
      show(preview, problemBox(error), describe(plan));
    }
  };
  // The plans made before: an applied one can be reverted from here.
  const plans = h('div', {});
  const listPlans = async () => {
    try {
      const { plans: made } = (await session.api.GET('/v1/tenants/{tenant}/recovery/plans', { params: { path: { tenant }, query: { pageSize: 20 } } })).data!;
      show(
        plans,
        made.length === 0
          ? null
          : table(
              ['plan', 'state', 'tainted actions', 'pages', ''],
              made.map((p) => [
                h('code', {}, p.id),
                h('span', {}, p.state),
                h('span', {}, String(p.taintedActions.length)),
                h('span', {}, String(p.changes.length)),
                p.state === 'applied' ? h('button', { type: 'button', onclick: () => void transition(p, 'revert') }, `Revert ${p.id}`) : h('span', {}, ''),
              ]),
              'Plans made before',
            ),
      );
    } catch (error) {
      show(plans, problemBox(error));
    }
  };
  void listPlans();
  const make = async (event: Event) => {
    event.preventDefault();
    const seeds = kind.value === 'actor' ? { actors: [value.value.trim()] } : { tokens: [value.value.trim()] };
    try {
      show(preview, h('p', {}, 'Computing the plan…'));
      const made = await session.api.POST('/v1/tenants/{tenant}/recovery/plans', { params: { path: { tenant } }, body: { mode: 'undo', seeds } });
      show(preview, describe(made.data!));
    } catch (error) {
      show(preview, problemBox(error));
    }
  };
  return h(
    'section',
    { 'aria-labelledby': 'recovery-title' },
    h('h2', { id: 'recovery-title' }, 'Recovery: undo what an intruder did'),
    h(
      'form',
      { onsubmit: (e: Event) => void make(e) },
      field('Seed the plan with', kind),
      field('Actor or session', value),
      h(
        'datalist',
        { id: 'known-actors' },
        actors.map((a) => h('option', { value: a })),
      ),
      h('button', { type: 'submit' }, 'Preview the undo plan'),
    ),
    preview,
    plans,
  );
}
