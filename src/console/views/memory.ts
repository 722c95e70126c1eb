/**
 * A VM's memory as a grid of pages, with its labelled regions, and the
 * exposure report on top: which pages were read, by whom and when; the
 * labelled secrets a chosen actor read stand out. Page versions come from the
 * log's own records (each write's and rollback's regions), so drawing the map
 * reads no page contents — it adds no read to the very report it shows.
 * Checking what the provider serves is a separate, recorded read (the
 * button under the map: served-pages.ts); any contradiction with the signed
 * log is a red banner, and the console, holding no data key, decrypts nothing.
 */
import { latestWritesFromLog } from '../../sdk/guest-contents';
import { problemBox } from '../api';
import type { components } from '../../sdk/client';
import { checkServedPages } from '../served-pages';
import { field, h, show, table } from '../dom';
import type { LoadedRecord } from '../log';
import type { Session } from '../session';

type ExposureRead = components['schemas']['ExposureRead'];

const WINDOW = 256;
const who = (r: ExposureRead) => `${r.actor.type}${r.actor.id ? ` ${r.actor.id}` : ''}`;

export async function memoryView(session: Session, records: readonly LoadedRecord[]): Promise<HTMLElement> {
  const tenant = session.tenant!;
  const params = { path: { tenant }, query: { pageSize: 100 } };
  const [vmList, labelList, exposureReport] = await Promise.all([
    session.api.GET('/v1/tenants/{tenant}/vms', { params }),
    session.api.GET('/v1/tenants/{tenant}/labels', { params }),
    session.api.GET('/v1/tenants/{tenant}/exposure', { params }),
  ]);
  const { vms } = vmList.data!;
  const { labels } = labelList.data!;
  const exposure = exposureReport.data!;
  const section = h('section', { 'aria-labelledby': 'memory-title' }, h('h2', { id: 'memory-title' }, 'Memory map and exposure'));
  if (vms.length === 0) {
    section.append(h('p', {}, 'This tenant has no VMs.'));
    return section;
  }

  const vmSelect = h(
    'select',
    { name: 'vm' },
    vms.map((v) => h('option', { value: v.id }, `${v.name} (${v.id})`)),
  );
  const actorSelect = h('select', { name: 'reader' });
  const start = h('input', { type: 'number', min: 0, step: WINDOW, value: 0, name: 'start' });
  const grid = h('div', { class: 'page-grid', role: 'list', 'aria-label': 'pages' });
  const details = h('div', { 'aria-live': 'polite' });
  const report = h('div', {});

  const render = () => {
    const vm = vms.find((v) => v.id === vmSelect.value)!;
    const vmLabels = labels.filter((l) => l.space === 'memory' && l.vm === vm.id);
    const vmExposure = exposure.labels.filter((l) => l.space === 'memory' && l.vm === vm.id);
    const readers = [...new Set(vmExposure.flatMap((l) => l.reads.map(who)))].sort();
    const chosen = actorSelect.value;
    show(
      actorSelect,
      h('option', { value: '' }, 'anyone'),
      readers.map((r) => h('option', { value: r, selected: r === chosen }, r)),
    );
    const reader = actorSelect.value;
    const versions = latestWritesFromLog(records, { tenant, space: 'memory', resource: vm.id });
    const readsOf = new Map<number, ExposureRead[]>();
    for (const l of vmExposure)
      for (const r of l.reads) if (!reader || who(r) === reader) for (const p of r.pages) readsOf.set(p.index, [...(readsOf.get(p.index) ?? []), r]);
    const pages = vm.memoryMiB * 256;
    const first = Math.min(Math.max(0, Math.floor(Number(start.value) / WINDOW) * WINDOW), Math.max(0, pages - WINDOW));
    show(
      grid,
      Array.from({ length: Math.min(WINDOW, pages - first) }, (_, i) => {
        const index = first + i;
        const version = versions.get(index)?.version ?? 0;
        const label = vmLabels.find((l) => index >= l.start && index < l.start + l.count);
        const reads = readsOf.get(index) ?? [];
        const description = [
          `page ${index}`,
          version ? `version ${version}` : 'unwritten',
          label ? `label ${label.name}` : '',
          reads.length ? `read by ${[...new Set(reads.map(who))].join(', ')}` : '',
        ]
          .filter(Boolean)
          .join(', ');
        const classes = ['page', version ? 'written' : 'unwritten', label ? 'labelled' : '', reads.length ? 'read' : ''].filter(Boolean).join(' ');
        return h(
          'button',
          {
            type: 'button',
            role: 'listitem',
            class: classes,
            title: description,
            'aria-label': description,
            'data-page': index,
            'data-version': version,
            onclick: () =>
              show(details, h('p', {}, description, reads.length ? ` — records ${reads.map((r) => `#${r.auditIndex} at ${r.time}`).join(', ')}` : '')),
          },
          version ? `v${version}` : '',
        );
      }),
    );
    show(
      report,
      vmLabels.length === 0
        ? h('p', {}, 'No labelled regions on this VM: label where secrets live (custodes label put) to see who read them.')
        : table(
            ['label', 'pages', 'read by', 'when', 'record'],
            vmExposure.flatMap((l) =>
              (l.reads.length ? l.reads : [null]).map((r) => {
                const mine = r && (!reader || who(r) === reader);
                return [
                  h('strong', { class: mine && r ? 'exposed' : '' }, l.name),
                  h('span', {}, `${l.start}–${l.start + l.count - 1}`),
                  h('span', { class: mine && r ? 'exposed' : '' }, r ? who(r) : 'nobody'),
                  h('span', {}, r ? r.time.replace('T', ' ').slice(0, 19) : ''),
                  h('span', {}, r ? `#${r.auditIndex}` : ''),
                ];
              }),
            ),
            'Reads of labelled regions',
          ),
    );
  };
  for (const control of [vmSelect, actorSelect, start]) control.addEventListener('change', render);

  const servedVerdict = h('div', { 'aria-live': 'polite' });
  const checkServed = async () => {
    const vm = vms.find((v) => v.id === vmSelect.value)!;
    const pages = vm.memoryMiB * 256;
    const first = Math.min(Math.max(0, Math.floor(Number(start.value) / WINDOW) * WINDOW), Math.max(0, pages - WINDOW));
    show(servedVerdict, h('p', { role: 'status' }, 'Reading and checking…'));
    try {
      const { served, readIndex, findings } = await checkServedPages(session, vm.id, first, Math.min(WINDOW, pages - first));
      show(
        servedVerdict,
        findings.length === 0
          ? h(
              'p',
              { role: 'status', class: 'verdict ok' },
              `✔ The ${served} written page(s) of ${first}–${first + Math.min(WINDOW, pages - first) - 1} the provider served are exactly what the signed log says (this check's read is record #${readIndex}).`,
            )
          : h(
              'div',
              { class: 'misbehaviour', role: 'alert' },
              h(
                'strong',
                {},
                `✘ Provider misbehaviour: what the provider served contradicts the signed log (${findings.length} finding${findings.length === 1 ? '' : 's'}). Nothing it served may be trusted or decrypted.`,
              ),
              h(
                'ul',
                {},
                findings.map((f) => h('li', {}, f.message)),
              ),
            ),
      );
    } catch (error) {
      show(servedVerdict, problemBox(error));
    }
  };
  try {
    render();
  } catch (error) {
    section.append(problemBox(error));
    return section;
  }
  section.append(
    h('div', { class: 'filters' }, field('VM', vmSelect), field('Highlight reads by', actorSelect), field('First page shown', start)),
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'page written' }, 'v'),
      ' written · ',
      h('span', { class: 'page labelled' }, ' '),
      ' labelled · ',
      h('span', { class: 'page read' }, ' '),
      ' read',
    ),
    grid,
    details,
    h(
      'div',
      { class: 'filters' },
      h('button', { type: 'button', onclick: () => void checkServed() }, 'Check served pages'),
      h('span', { class: 'legend' }, ' reads the pages shown (recorded in your log) and checks every byte against the signed log; nothing is decrypted'),
    ),
    servedVerdict,
    report,
  );
  return section;
}
