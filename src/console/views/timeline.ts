/** The audit timeline: every record of a log, newest first, filtered and paged; admins' and denied attempts stand out. */
import { field, h, show, table, text } from '../dom';
import type { LoadedRecord } from '../log';

const PAGE = 50;

/** Feeds the timeline records as they commit (log.ts `followLog`); answers nothing. */
export type LiveFeed = (onRecord: (record: LoadedRecord) => void) => void;

export function timelineView(records: readonly LoadedRecord[], title: string, live?: LiveFeed): HTMLElement {
  const actor = h('input', { type: 'search', placeholder: 'id or type', name: 'actor' });
  const action = h('input', { type: 'search', placeholder: 'e.g. vm.memory', name: 'action' });
  const outcome = h(
    'select',
    { name: 'outcome' },
    ['', 'allowed', 'denied', 'failed'].map((o) => h('option', { value: o }, o || 'any')),
  );
  const body = h('div', {});
  const status = h('p', { 'aria-live': 'polite' });
  let page = 0;
  const newestFirst = [...records].reverse();

  const render = () => {
    const a = actor.value.trim();
    const act = action.value.trim();
    const matches = newestFirst.filter(
      ({ record: r }) =>
        (!a || `${r.actor.type}:${r.actor.id ?? ''}`.includes(a)) && (!act || r.action.includes(act)) && (!outcome.value || r.outcome === outcome.value),
    );
    const pages = Math.max(1, Math.ceil(matches.length / PAGE));
    page = Math.min(page, pages - 1);
    const shown = matches.slice(page * PAGE, (page + 1) * PAGE);
    status.textContent = `${matches.length} of ${newestFirst.length} records match · page ${page + 1} of ${pages}`;
    const rows = shown.map(({ index, record: r }) => {
      const marks = [
        r.actor.type === 'admin' ? h('span', { class: 'badge admin' }, 'admin') : null,
        r.outcome !== 'allowed' ? h('span', { class: `badge ${r.outcome}` }, r.outcome) : null,
      ];
      return [
        h('span', {}, String(index)),
        h('time', { datetime: r.time }, r.time.replace('T', ' ').slice(0, 19)),
        h('span', {}, `${r.actor.type}${r.actor.id ? ` ${r.actor.id}` : ''}`, ...marks),
        h('code', {}, r.action),
        h('span', {}, r.target ? `${r.target.type} ${r.target.id}` : ''),
        h('span', { class: `outcome ${r.outcome}` }, r.outcome, r.reason ? ` (${text(r.reason)})` : ''),
      ];
    });
    const t = table(['#', 'time (UTC)', 'actor', 'action', 'target', 'outcome'], rows, title);
    t.querySelectorAll('tbody tr').forEach((tr, i) => {
      const r = shown[i]!.record;
      if (r.outcome !== 'allowed') tr.classList.add('refused');
      if (r.actor.type === 'admin') tr.classList.add('by-admin');
    });
    show(body, t);
    newer.disabled = page === 0;
    older.disabled = page >= pages - 1;
  };
  const turn = (to: number) => () => {
    page = to;
    render();
  };
  const newer = h('button', { type: 'button', onclick: () => turn(page - 1)() }, 'Newer');
  const older = h('button', { type: 'button', onclick: () => turn(page + 1)() }, 'Older');
  for (const control of [actor, action, outcome]) control.addEventListener('input', turn(0));
  render();
  const liveNote = h('p', { class: 'live', 'aria-live': 'polite' }, live ? 'Live: new records appear here as they commit.' : '');
  live?.((record) => {
    newestFirst.unshift(record);
    liveNote.textContent = `Live: record ${record.index} (${record.record.action}, ${record.record.outcome}) just committed.`;
    render();
  });
  return h(
    'section',
    { 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title' }, title),
    liveNote,
    h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (e: Event) => e.preventDefault() },
      field('Actor', actor),
      field('Action', action),
      field('Outcome', outcome),
    ),
    status,
    body,
    h('div', { class: 'pager' }, newer, older),
  );
}
