/**
 * What the provider serves, checked in the browser against the signed log
 * (issue 30): the console reads a window of a VM's pages — as ciphertext; it
 * holds no data key and decrypts nothing — and checks every envelope's
 * SHA-256 twice, with the SDK's own checks:
 *  - against the read's own record and the records that wrote each version,
 *    served with the answer and verified under the published audit keys
 *    (sdk/read-evidence.ts);
 *  - against the newest write of each page in the tenant's log, verified
 *    here after the read (so every write before the read is in it).
 * Every contradiction is listed: the memory view shows them as a red banner.
 * The read is a read like any other: it is recorded in the tenant's log.
 */
import { keyMap } from '../sdk/audit-verify';
import { freshnessFindings, latestWritesFromLog } from '../sdk/guest-contents';
import { readEvidenceFindings, recordVerifier } from '../sdk/read-evidence';
import { tokenIdOf, type components } from '../sdk/client';
import { logOf } from './log';
import type { Session } from './session';
import { verifyInBrowser } from './verify';
import { base64ToBytes } from '../lib/bytes';

export interface ServedPagesCheck {
  /** Pages served (written pages of the window). */
  served: number;
  /** The read's record in the tenant's log. */
  readIndex: number | null;
  /** Each contradiction, in page order: a provider misbehaving. None: every byte is what the signed log says. */
  findings: { page: number | null; message: string }[];
}

export async function checkServedPages(session: Session, vm: string, start: number, count: number): Promise<ServedPagesCheck> {
  const tenant = session.tenant!;
  const log = logOf(session);
  const { data, response } = await session.api.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant, vm }, query: { start, count } } });
  // JSON, as asked (no Accept for frames): what any client sees. The checks take the envelopes' bytes.
  const { evidence, pages: served } = data as components['schemas']['Pages'];
  const pages = served.map((page) => ({ ...page, envelope: base64ToBytes(page.envelope) }));
  const verify = recordVerifier(async () => keyMap(await (await fetch('/.well-known/jwks.json')).json()));
  // The token this read carried: its record must name it (read-evidence.ts).
  const jti = tokenIdOf(response);
  const findings: Error[] = await readEvidenceFindings(pages, evidence, { log, space: 'memory', resource: vm, verify, jti });
  const readIndex = evidence?.read?.index ?? null;
  // The log, verified after the read: its writes before the read say what each page's newest version is.
  const verification = await verifyInBrowser(session, log);
  if (!verification.result.ok) findings.push(new Error(`the audit log does not verify, so it cannot vouch for any page: ${verification.result.error}`));
  else if (readIndex !== null) {
    const before = verification.verified.filter((r) => r.index < readIndex);
    findings.push(...freshnessFindings(pages, start, count, latestWritesFromLog(before, { tenant, space: 'memory', resource: vm })));
  }
  const pageOf = (e: Error) => ('page' in e ? (e.page as number | null) : 'index' in e ? (e.index as number) : null);
  // One finding per page, the first (the read's evidence before freshness): the rest follow from it.
  const byPage = new Map<number | null, string>();
  for (const e of findings) if (!byPage.has(pageOf(e))) byPage.set(pageOf(e), e.message);
  return {
    served: pages.length,
    readIndex,
    findings: [...byPage].map(([page, message]) => ({ page, message })).sort((a, b) => (a.page ?? -1) - (b.page ?? -1)),
  };
}
