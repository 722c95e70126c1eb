/**
 * Revealing sealed records (docs/design.md §7). A sealed access left, in its
 * own batch, a sealed record in the tenant's log and a row here pointing at
 * the full record it hides (audit/log/sequencer.ts, `sealedNotice`). By its
 * date the full record must reach the tenant's log: a *reveal* record naming
 * the seal and carrying the hidden record's JWS, which the tenant's verifier
 * hashes against the commitment (sdk/seals.ts).
 *
 * A reveal is appended by the system, guarded in its own batch on the seal
 * not being revealed yet (so a second reveal appends nothing): early, when a
 * `security` admin asks (`:reveal`); on time, at the next read of the tenant's
 * log after the date (like an undelivered notice, audit/log/notices.ts) and
 * by the cron sweep. A provider that suppresses the reveal leaves the sealed
 * record overdue in every verifier's eyes.
 */
import type { Env } from '../../env';
import type { RecordDraft } from '../../audit/format/record';
import { appendToLog } from '../../audit/log/append';
import { expectChanges } from '../../audit/log/commit';
import { finishNotices } from '../../audit/log/notices';
import { tenantLog } from '../../audit/log/logs';
import { nowIso } from '../../platform/clock';
import { emulatedClock } from '../../audit/request/request-audit';

interface SealRow {
  id: string;
  tenant_id: string;
  access_request: string;
  hidden: string;
  seal_until: string;
}

/** Reveals one seal: appends its reveal to the tenant's log (nothing if it is revealed already). Answers whether it appended. */
async function reveal(env: Env, seal: SealRow, by: 'date' | 'request'): Promise<boolean> {
  const { log, index } = JSON.parse(seal.hidden) as { log: string; index: number };
  const hidden = await env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? AND idx = ?').bind(log, index).first<{ jws: string }>();
  if (!hidden) throw new Error(`seal ${seal.id}: the record it hides (${log}#${index}) is missing`);
  const draft: RecordDraft = {
    requestId: seal.id,
    actor: { type: 'system', id: 'system/seal', kid: null, jti: null, ip: null },
    action: 'access.reveal',
    target: { type: 'access_request', id: seal.access_request },
    outcome: 'allowed',
    reason: null,
    request: { method: 'POST', path: `/v1/admin/access-requests/${seal.access_request}:reveal` },
    details: { seal: seal.id, sealUntil: seal.seal_until, revealedBy: by, revealed: { log, index, jws: hidden.jws } },
    ...emulatedClock(),
  };
  const guard = expectChanges('seal not revealed yet');
  const result = await appendToLog(env, tenantLog(seal.tenant_id), draft, [
    { sql: 'UPDATE sealed_records SET revealed_index = -1, updated_at = ? WHERE id = ? AND revealed_index IS NULL', params: [nowIso(), seal.id] },
    guard,
    { sql: 'UPDATE access_requests SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL', params: [nowIso(), seal.access_request] },
  ]);
  if (!result.ok) return false; // revealed meanwhile (the guard), or the log refused: the next reader tries again
  await env.DB.prepare('UPDATE sealed_records SET revealed_index = ? WHERE id = ?').bind(result.auditIndex, seal.id).run();
  return true;
}

const UNREVEALED = 'SELECT id, tenant_id, access_request, hidden, seal_until FROM sealed_records WHERE revealed_index IS NULL';

/** Reveals `seals`, each after the sealed record it follows (which may still wait in the outbox); answers how many it appended. */
async function revealEach(env: Env, seals: SealRow[], by: 'date' | 'request'): Promise<number> {
  let revealed = 0;
  for (const seal of seals) {
    await finishNotices(env, tenantLog(seal.tenant_id));
    if (await reveal(env, seal, by)) revealed++;
  }
  return revealed;
}

/**
 * Reveals every seal past its date (of `tenant`, or of every tenant): what a
 * read of the log and the cron sweep run first. (A sealed request never used
 * hides no record: it becomes visible to its tenant at its date by itself,
 * access-requests.service.ts.)
 */
export async function revealDueSeals(env: Env, tenant?: string): Promise<number> {
  const { results } = await env.DB.prepare(`${UNREVEALED} AND seal_until <= ?${tenant ? ' AND tenant_id = ?' : ''} ORDER BY seal_until LIMIT 100`)
    .bind(nowIso(), ...(tenant ? [tenant] : []))
    .all<SealRow>();
  return revealEach(env, results, 'date');
}

/** Reveals the seals of one access request now (a `security` admin's `:reveal`). */
export async function revealSealsOf(env: Env, accessRequest: string): Promise<number> {
  const { results } = await env.DB.prepare(`${UNREVEALED} AND access_request = ?`).bind(accessRequest).all<SealRow>();
  const revealed = await revealEach(env, results, 'request');
  // A sealed request never used hides nothing: revealing it shows it to the tenant.
  await env.DB.prepare('UPDATE access_requests SET revealed_at = ? WHERE id = ? AND seal_until IS NOT NULL AND revealed_at IS NULL')
    .bind(nowIso(), accessRequest)
    .run();
  return revealed;
}
