/**
 * Receiving alert deliveries (issue 19; audit/alerts/deliveries.ts): each is
 * a compact JWS by the audit key whose payload carries the alerted record's
 * own JWS. `openAlertDelivery` checks both signatures against the published
 * keys, offline; an `AlertInbox` also drops a delivery it has seen (the
 * server retries until it hears a 2xx, so a lost answer means a repeat).
 */
import { keyMap, verifyJws, type PublicJwk } from './audit-verify.ts';
import type { AuditRecord } from '../audit/format/record.ts';
import { jwsPayload } from '../audit/format/jws.ts';

export interface AlertDelivery {
  /** `<rule>:<index>`: the same for every attempt of one delivery. */
  id: string;
  rule: string;
  kind: string;
  tenant: string;
  log: string;
  index: number;
  /** The alerted record's JWS. */
  record: string;
  attempt: number;
  sentAt: string;
}

const payloadOf = <T>(jws: string): T => jwsPayload<T>(jws);

/** The delivery and its record, once both signatures verify against `jwks` (GET /.well-known/jwks.json); throws otherwise. */
export function openAlertDelivery(body: string, jwks: { keys: PublicJwk[] }): { delivery: AlertDelivery; record: AuditRecord } {
  const keys = keyMap(jwks);
  if (!verifyJws(body.trim(), keys)) throw new Error('the delivery is not signed by a published audit key');
  const delivery = payloadOf<AlertDelivery>(body.trim());
  if (!verifyJws(delivery.record, keys)) throw new Error(`the record in delivery ${delivery.id} is not signed by a published audit key`);
  const record = payloadOf<AuditRecord>(delivery.record);
  if (record.log !== delivery.log || record.index !== delivery.index)
    throw new Error(`delivery ${delivery.id} carries record ${record.index} of ${record.log}`);
  return { delivery, record };
}

/** Verified deliveries, each once: a repeat of an index already accepted is answered `fresh: false`. */
export class AlertInbox {
  readonly #seen = new Set<string>();
  constructor(private readonly jwks: { keys: PublicJwk[] }) {}

  accept(body: string): { fresh: boolean; delivery: AlertDelivery; record: AuditRecord } {
    const opened = openAlertDelivery(body, this.jwks);
    const key = `${opened.delivery.rule}:${opened.delivery.index}`;
    const fresh = !this.#seen.has(key);
    this.#seen.add(key);
    return { fresh, ...opened };
  }
}
