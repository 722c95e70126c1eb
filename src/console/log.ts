/**
 * One audit log as the console reads it: the tenant's (`tenants/<id>`) or
 * the provider's, through the same routes the CLI uses, as the shared
 * verifier's `AuditSource`. Records are fetched once per view in pages of
 * 1,000 and decoded; the memory map and the recovery preview read them too.
 */
import type { AuditRecord } from '../audit/format/record';
import type { AuditSource } from '../sdk/audit-verify';
import { serverSentEvents } from '../sdk/audit-stream';
import { call } from './api';
import type { Session } from './session';
import { jwsPayload } from '../audit/format/jws';

export interface LoadedRecord {
  index: number;
  jws: string;
  record: AuditRecord;
}

const decode = (jws: string): AuditRecord => jwsPayload<AuditRecord>(jws);

export const logOf = (session: Session): string => (session.role === 'admin' ? 'provider' : `tenants/${session.tenant}`);
const base = (log: string) => (log === 'provider' ? '/v1/admin/audit' : `/v1/${log}/audit`);

export function logSource(session: Session, log = logOf(session)): AuditSource {
  return {
    logKey: async () => (await fetch('/v1/audit/log-key')).text(),
    jwks: async () => (await fetch('/.well-known/jwks.json')).json(),
    checkpoint: () => call<string>(session, 'GET', `${base(log)}/checkpoint`, { text: true }),
    cosignedCheckpoint: (k) => call<string>(session, 'GET', `${base(log)}/checkpoint/cosigned?cosignatures=${k}`, { text: true }),
    records: (from, limit) => call(session, 'GET', `${base(log)}/records?from=${from}&limit=${limit}`),
    consistency: (from, to) => call(session, 'GET', `${base(log)}/proofs/consistency?from=${from}&to=${to}`),
    keyHandovers: async () => (await fetch('/v1/audit/key-handovers')).json(),
  };
}

/** Every record up to the current checkpoint, decoded, oldest first. */
export async function loadLog(session: Session, log = logOf(session)): Promise<LoadedRecord[]> {
  const source = logSource(session, log);
  const size = Number((await source.checkpoint()).split('\n')[1]);
  const out: LoadedRecord[] = [];
  while (out.length < size) {
    const page = await source.records(out.length, Math.min(1000, size - out.length));
    if (page.records.length === 0) break;
    for (const { index, jws } of page.records) out.push({ index, jws, record: decode(jws) });
  }
  return out;
}

/**
 * The tenant's records as they commit, from `from` on (`GET …/audit/stream`,
 * Server-Sent Events), until `signal` aborts. The timeline shows them; the
 * Verify view checks them with the rest of the log.
 */
export async function followLog(session: Session, from: number, signal: AbortSignal, onRecord: (record: LoadedRecord) => void): Promise<void> {
  const response = await fetch(`/v1/tenants/${session.tenant}/audit/stream?from=${from}`, {
    headers: { Authorization: `Bearer ${await session.token()}` },
    signal,
  });
  if (!response.ok || !response.body) return;
  for await (const { event, data } of serverSentEvents(response.body)) {
    if (event !== 'record') continue;
    const { index, jws } = JSON.parse(data) as { index: number; jws: string };
    onRecord({ index, jws, record: decode(jws) });
  }
}
