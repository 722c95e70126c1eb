/**
 * The Custodes console (issue 18): the tenant watches its watchers in a
 * browser, and the provider's second admin sees what it approves. Plain DOM
 * and one bundle (scripts/build-console.js), served by the Worker's static
 * assets at /console/, with no request to anywhere but its own origin.
 * The private key never leaves the page (session.ts).
 */
import { problemBox } from './api';
import { field, h, show } from './dom';
import { followLog, loadLog, logOf } from './log';
import { forgetSession, loadKey, rememberedSession, type Session } from './session';
import { accessView } from './views/access';
import { changesView, hostsView } from './views/admin';
import { memoryView } from './views/memory';
import { recoveryView } from './views/recovery';
import { timelineView } from './views/timeline';
import { verifyView } from './views/verify';

const main = document.querySelector('main')!;
const nav = document.querySelector('nav')!;
const who = document.querySelector('#who')!;
let session: Session | null = null;

const VIEWS: Record<Session['role'], [string, string][]> = {
  tenant: [
    ['timeline', 'Audit timeline'],
    ['verify', 'Verify'],
    ['memory', 'Memory and exposure'],
    ['recovery', 'Recovery'],
    ['access', 'Access requests'],
  ],
  toolstack: [
    ['timeline', 'Audit timeline'],
    ['verify', 'Verify'],
  ],
  admin: [
    ['changes', 'Change requests'],
    ['timeline', 'Provider log'],
    ['verify', 'Verify'],
    ['hosts', 'Hosts'],
  ],
};

/** Renders are numbered: a view whose data arrives after the user moved on is not shown. */
let rendering = 0;
/** The live stream the timeline follows; closed when the view changes. */
let following: AbortController | null = null;

async function render(): Promise<void> {
  if (!session) return showLogin();
  const mine = ++rendering;
  following?.abort();
  following = null;
  const views = VIEWS[session.role];
  const current = location.hash.slice(2) || views[0]![0];
  show(
    nav,
    h(
      'ul',
      {},
      views.map(([id, name]) => h('li', {}, h('a', { href: `#/${id}`, 'aria-current': id === current ? 'page' : null }, name))),
    ),
  );
  show(
    who,
    `${session.role} ${session.principal}${session.tenant && session.role !== 'tenant' ? ` · tenant ${session.tenant}` : ''} `,
    h('button', { type: 'button', onclick: () => void logout() }, 'Forget the key'),
  );
  show(main, h('p', { 'aria-live': 'polite' }, 'Loading…'));
  try {
    const needsLog = ['timeline', 'memory', 'recovery'].includes(current);
    const records = needsLog ? await loadLog(session) : [];
    const view =
      current === 'timeline'
        ? timelineView(
            records,
            session.role === 'admin' ? 'The provider log' : `The audit log of ${logOf(session)}`,
            session.role === 'admin' ? undefined : live(session, records.length),
          )
        : current === 'verify'
          ? verifyView(session)
          : current === 'memory'
            ? await memoryView(session, records)
            : current === 'recovery'
              ? recoveryView(session, records, () => undefined)
              : current === 'access'
                ? await accessView(session)
                : current === 'changes'
                  ? await changesView(session)
                  : current === 'hosts'
                    ? await hostsView(session)
                    : h('p', {}, 'No such view.');
    if (mine === rendering) show(main, view);
  } catch (error) {
    if (mine === rendering) show(main, problemBox(error));
  }
}

/** The timeline's live feed: the tenant's stream from the first record not yet shown. */
function live(current: Session, from: number) {
  return (onRecord: Parameters<typeof followLog>[3]) => {
    following = new AbortController();
    const controller = following;
    void followLog(current, from, controller.signal, onRecord).catch(() => undefined); // closed by navigation, or the server went away
  };
}

function showLogin(): void {
  show(nav);
  show(who, 'No key loaded');
  const file = h('input', { type: 'file', accept: '.jwk,.json,application/json', name: 'key', required: true });
  const principal = h('input', { name: 'principal', required: true, placeholder: 'ten_…, tsk_… or adm_…', autocomplete: 'off' });
  const tenant = h('input', { name: 'tenant', placeholder: 'for a toolstack key: its tenant', autocomplete: 'off' });
  const scopes = h('input', { name: 'scopes', value: 'audit:read', autocomplete: 'off' });
  const remember = h('input', { type: 'checkbox', name: 'remember', id: 'remember' });
  const error = h('div', {});
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const picked = file.files?.[0];
      if (!picked) throw new Error('Pick the file that holds your private JWK.');
      const id = principal.value.trim();
      session = await loadKey(await picked.text(), id, tenant.value.trim() || null, scopes.value.split(/\s+/).filter(Boolean), remember.checked);
      file.value = ''; // the file's text is gone with the form; only the non-extractable key remains
      // Rendered once: by the hash change when there is one (a second render would load the log twice, and add its reads to the log).
      if (location.hash === '#/') await render();
      else location.hash = '#/';
    } catch (e) {
      show(error, problemBox(e));
    }
  };
  show(
    main,
    h(
      'section',
      { 'aria-labelledby': 'login-title' },
      h('h2', { id: 'login-title' }, 'Load your key'),
      h(
        'p',
        {},
        'Your private key stays in this page: it is imported as a non-extractable WebCrypto key, and each request carries a short-lived token signed here. The server never sees it.',
      ),
      h(
        'form',
        { onsubmit: (e: Event) => void submit(e) },
        field('Private JWK file', file),
        field('Principal id (iss)', principal),
        field('Tenant (toolstack keys)', tenant),
        field('Scopes (toolstack keys)', scopes),
        h('div', { class: 'field checkbox' }, remember, h('label', { for: remember.id }, 'Remember in this browser (IndexedDB, non-extractable)')),
        h('button', { type: 'submit' }, 'Load key'),
      ),
      error,
    ),
  );
}

async function logout(): Promise<void> {
  session = null;
  await forgetSession();
  location.hash = '';
  showLogin();
}

window.addEventListener('hashchange', () => void render());
void (async () => {
  session = await rememberedSession().catch(() => null);
  await render();
})();
