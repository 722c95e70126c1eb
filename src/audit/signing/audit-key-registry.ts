/**
 * Audit key registry and rotation. The signing key comes from env; when a
 * Worker first signs with a key the registry does not list as active, it
 * activates that key and retires the previous one — as a write committed with
 * its own record (`audit.key.activate`) in the provider log, so a rotation is
 * never silent. Only a deployment's first key activates itself: a later one
 * must have been approved by a change request (two admins,
 * governance/audit-keys/audit-keys.service.ts), or the Worker refuses to serve. Retired keys stay
 * published in the JWKS.
 */
import type { AuditedAction } from '../actions';
import type { Env } from '../../env';
import { appendAllToLog } from '../log/append';
import type { AppendEntry } from '../log/extensions';
import { expectChanges } from '../log/commit';
import { PROVIDER_LOG } from '../log/logs';
import type { RecordDraft } from '../format/record';
import { auditSigningKey } from './signing-key';
import { countersignHandover, signPendingHandovers } from './key-handover';
import { nowIso } from '../../platform/clock';
import { registerIsolateCache } from '../../platform/isolate-caches';

const registered = new Set<string>();
registerIsolateCache(() => registered.clear());

/** The deployment's key is neither active nor approved while another key is active. */
export class UnapprovedAuditKey extends Error {
  constructor(
    readonly kid: string,
    handover?: string,
  ) {
    super(
      handover
        ? `The audit signing key ${kid} was approved but cannot take over: ${handover}. Serve once more with the active key (it signs the hand-over on start), then deploy ${kid}.`
        : `The audit signing key ${kid} was not approved: propose it (POST /v1/admin/audit/keys) and have a second security admin approve it, or deploy the active key again.`,
    );
    this.name = 'UnapprovedAuditKey';
  }
}

type Cause = Pick<RecordDraft, 'requestId' | 'request'>;
type SigningKey = Awaited<ReturnType<typeof auditSigningKey>>;

/** The `audit.key.activate` record of `key`, with the registry's writes; `handover` countersigned in its batch when there is one. */
function activation(
  key: SigningKey,
  cause: Cause,
  {
    retired,
    approved,
    handover,
  }: { retired: string[]; approved: boolean; handover: Extract<Awaited<ReturnType<typeof countersignHandover>>, { ok: true }> | null },
): AppendEntry {
  const now = nowIso();
  return {
    draft: {
      ...cause,
      actor: { type: 'system', id: 'custodes', kid: null, jti: null, ip: null },
      action: 'audit.key.activate' satisfies AuditedAction,
      target: { type: 'audit-key', id: key.kid },
      outcome: 'allowed',
      reason: null,
      details: { kid: key.kid, retired, approved, ...(handover ? { handover: handover.details } : {}) },
    },
    writes: [
      ...(handover ? [handover.write] : []),
      { sql: "UPDATE audit_keys SET state = 'retired', retired_at = ? WHERE state = 'active' AND kid <> ?", params: [now, key.kid] },
      {
        sql: `INSERT INTO audit_keys (kid, public_jwk, state, activated_at) VALUES (?, ?, 'active', ?)
              ON CONFLICT (kid) DO UPDATE SET state = 'active', retired_at = NULL, activated_at = excluded.activated_at WHERE state <> 'active'`,
        params: [key.kid, JSON.stringify(key.publicJwk), now],
      },
      expectChanges('audit.key.activate'),
    ],
  };
}

export async function ensureSigningKeyRegistered(env: Env, cause: Cause): Promise<void> {
  const key = await auditSigningKey(env.AUDIT_SIGNING_JWK);
  if (registered.has(key.kid)) return;
  const state = await env.DB.prepare('SELECT state FROM audit_keys WHERE kid = ?').bind(key.kid).first<string>('state');
  if (state !== 'active') {
    const { results } = await env.DB.prepare("SELECT kid, public_jwk FROM audit_keys WHERE state = 'active'").all<{ kid: string; public_jwk: string }>();
    const retired = results.map((r) => r.kid);
    // The first key of a deployment activates itself; any later one needs an approved change request,
    // and its predecessor's signed hand-over, which it countersigns in the activation's batch.
    if (retired.length > 0 && state !== 'approved') throw new UnapprovedAuditKey(key.kid);
    const handover = results[0] && state === 'approved' ? await countersignHandover(env, key, { kid: results[0].kid, publicJwk: results[0].public_jwk }) : null;
    if (handover && !handover.ok) throw new UnapprovedAuditKey(key.kid, handover.why);
    // A concurrent isolate may win the race; its twin is then refused by the assertion, and one record remains.
    await appendAllToLog(env, PROVIDER_LOG, [activation(key, cause, { retired, approved: state === 'approved', handover: handover?.ok ? handover : null })]);
  }
  registered.add(key.kid);
  // An approval interrupted before its hand-over was signed is finished by the next Worker holding the active key.
  await signPendingHandovers(env).catch((error: unknown) => console.warn(`audit key hand-over: ${(error as Error).message}`));
}

/**
 * The provider log's first records after an emulator reset: the key's activation — the registry was just emptied, so
 * there is nothing to read, retire or hand over — then `after` (the reset's own record), for the caller to commit in
 * one batch; `committed` tells the registry the activation landed.
 */
export async function withFirstKey(env: Env, cause: Cause, after: AppendEntry): Promise<{ entries: AppendEntry[]; committed(): void }> {
  const key = await auditSigningKey(env.AUDIT_SIGNING_JWK);
  return {
    entries: [activation(key, cause, { retired: [], approved: false, handover: null }), after],
    committed: () => registered.add(key.kid),
  };
}
