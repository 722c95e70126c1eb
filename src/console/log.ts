/**
 * One audit log as the console reads it: the tenant's (`tenants/<id>`) or
 * the provider's, through the same routes the CLI uses, as the shared
 * verifier's `AuditSource`. Records are fetched once per view in pages of
 * 1,000 and decoded; the memory map and the recovery preview read them too.
 */
import type { AuditRecord } from '../audit/format/record';
import type { AuditSource } from '../sdk/audit-verify';
import { serverSentEvents } from '../sdk/audit-stream';
import { auditSource } from '../sdk/audit-source';
import type { Session } from './session';
import { jwsPayload } from '../audit/format/jws';

export interface LoadedRecord {
  index: number;
  jws: string;
  record: AuditRecord;
}

const decode = (jws: string): AuditRecord => jwsPayload<AuditRecord>(jws);

export const logOf = (session: Session): string => (session.role === 'admin' ? 'provider' : `tenants/${session.tenant}`);

/** The log's routes as the verifier reads them: the SDK's, through the session's client. */
export const logSource = (session: Session, log = logOf(session)): AuditSource => auditSource(session.api, log);

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
  const { data: stream } = await session.api.GET('/v1/tenants/{tenant}/audit/stream', {
    params: { path: { tenant: session.tenant! }, query: { from } },
    parseAs: 'stream',
    signal,
  });
  if (!stream) return;
  for await (const { event, data } of serverSentEvents(stream)) {
    if (event !== 'record') continue;
    const { index, jws } = JSON.parse(data) as { index: number; jws: string };
    onRecord({ index, jws, record: decode(jws) });
  }
}
