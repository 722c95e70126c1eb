/**
 * Verify in the browser: every signature (WebCrypto), the RFC 9162 root, the
 * C2SP checkpoint, consistency with the checkpoint saved here last time, and
 * every sealed access (sdk/seals.ts): a reveal that does not match its
 * commitment, or a seal past its date unrevealed, is a red banner.
 */
import { h, show } from '../dom';
import { problemBox } from '../api';
import type { Session } from '../session';
import { verifyInBrowser } from '../verify';
import { checkSeals, sealClock } from '../../sdk/seals';

export function verifyView(session: Session): HTMLElement {
  const result = h('div', { 'aria-live': 'polite' });
  const run = async () => {
    button.disabled = true;
    show(result, h('p', {}, 'Verifying…'));
    try {
      const { result: r, records, ms, extends: previous, verified } = await verifyInBrowser(session);
      const seals = r.ok ? checkSeals(verified, sealClock(verified)) : null;
      if (seals && seals.findings.length > 0) {
        // The log itself verifies, but the provider broke a seal's promise: as serious as a failed verification.
        show(
          result,
          h(
            'div',
            { class: 'misbehaviour', role: 'alert' },
            h('strong', {}, '✘ Sealed records: the provider broke its promise'),
            h(
              'ul',
              {},
              seals.findings.map((f) => h('li', {}, f)),
            ),
          ),
        );
      } else if (r.ok) {
        const open = seals!.seals.filter((x) => x.revealedAt === null);
        show(
          result,
          h(
            'div',
            { class: 'verdict ok', role: 'status' },
            h('strong', {}, '✔ Verified'),
            h(
              'p',
              {},
              `${records} records: every signature, the Merkle root and the signed checkpoint check out in ${(ms / 1000).toFixed(2)} s (${Math.round(records / Math.max(ms / 1000, 0.001))} records/s).`,
            ),
            h(
              'p',
              {},
              previous === null
                ? 'First verification in this browser: the checkpoint is now saved here.'
                : `It extends the checkpoint saved here last time, at ${previous} records.`,
            ),
            r.handovers.length ? h('p', {}, `Followed ${r.handovers.length} signed key hand-over(s) from the key saved here.`) : null,
            seals!.seals.length
              ? h(
                  'p',
                  {},
                  `Sealed accesses: ${seals!.seals.length} — ${seals!.seals.length - open.length} revealed, each matching its commitment${open.length ? `; still sealed: ${open.map((x) => `${x.vm} until ${x.sealUntil}`).join(', ')}` : ''}.`,
                )
              : null,
            h('p', {}, 'Root ', h('code', {}, Array.from(r.checkpoint.root, (b) => b.toString(16).padStart(2, '0')).join(''))),
          ),
        );
      } else {
        show(result, h('div', { class: 'verdict failed', role: 'alert' }, h('strong', {}, '✘ Verification failed'), h('p', { class: 'why' }, r.error)));
      }
    } catch (error) {
      show(result, problemBox(error));
    } finally {
      button.disabled = false;
    }
  };
  const button = h('button', { type: 'button', onclick: () => void run() }, 'Verify the log');
  return h(
    'section',
    { 'aria-labelledby': 'verify-title' },
    h('h2', { id: 'verify-title' }, 'Verify in this browser'),
    h(
      'p',
      {},
      "Checks every record's signature, recomputes the RFC 9162 root, checks the C2SP checkpoint, and checks that the log still extends the checkpoint this browser saved last time. Nothing but the log leaves the server; nothing but the checkpoint is kept.",
    ),
    button,
    result,
  );
}
