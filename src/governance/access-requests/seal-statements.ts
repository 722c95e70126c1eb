/**
 * A seal (seals.ts), in the sealed record's own batch (audit/log/extensions.ts):
 * the tenant's log gets a sealed record through the notice outbox — its time,
 * the VM, the seal and its date, and the commitment `sha256:` of this record's
 * payload — and the seal is kept, pointing at this record, until revealed.
 */
import { createHash } from 'node:crypto';
import type { RecordDraft } from '../../audit/format/record';
import type { LogExtension } from '../../audit/log/extensions';

/**
 * A record that a tenant's log may not see yet (a sealed legal access): the
 * tenant's log gets, from this record's own batch, a sealed record — time, VM,
 * seal id, date, and the SHA-256 commitment of this record's payload — and
 * the seal is kept (`sealed_records`) until it is revealed.
 */
export interface SealOrder {
  /** The seal's id. */
  id: string;
  /** The log that gets the sealed record: the tenant's. */
  log: string;
  tenant: string;
  accessRequest: string;
  vm: string;
  /** The instant by which the full record must be revealed. */
  until: string;
}

declare module '../../audit/log/extensions' {
  interface AppendEffects {
    /** A sealed record in `seal.log` instead of a notice there. */
    seal?: SealOrder;
  }
}

export const seals = (): LogExtension => ({ statements: sealStatements });

const sealStatements: LogExtension['statements'] = ({ db, record, payload, entry: { seal } }) => {
  if (!seal || record.outcome !== 'allowed') return undefined;
  const commitment = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
  const sealed: RecordDraft = {
    requestId: seal.id,
    actor: { type: 'system', id: 'system/seal', kid: null, jti: null, ip: null },
    action: 'access.sealed',
    target: { type: 'vm', id: seal.vm },
    outcome: 'allowed',
    reason: null,
    request: { method: 'POST', path: '/v1/admin/access-requests/{sealed}:use' },
    details: { seal: seal.id, commitment, sealUntil: seal.until },
    ...(record.clock ? { clock: record.clock } : {}),
  };
  return {
    afterRecord: [
      db
        .prepare('INSERT INTO audit_notice_outbox (log, idx, target_log, draft) VALUES (?, ?, ?, ?)')
        .bind(record.log, record.index, seal.log, JSON.stringify(sealed)),
      db
        .prepare('INSERT INTO sealed_records (id, tenant_id, access_request, commitment, hidden, seal_until) VALUES (?, ?, ?, ?, ?, ?)')
        .bind(seal.id, seal.tenant, seal.accessRequest, commitment, JSON.stringify({ log: record.log, index: record.index }), seal.until),
    ],
  };
};
