/**
 * The tenant's own log, verified before the CLI relies on it (`mem read
 * --verify-fresh`, `audit contents`): every record's signature and the tree,
 * under the key and checkpoint `audit verify` saved when it has, so a log
 * rolled back since is refused too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { auditSource } from '../sdk/audit-source';
import { verifyAuditLog, type VerifierState } from '../sdk/audit-verify';
import { parallelRecordChecker } from './parallel-verify';
import { tenantClient, type TenantOptions } from './tenant-context';

/** Where `audit verify` keeps a log's last accepted checkpoint by default. */
export const defaultStatePath = (log: string): string => `.custodes/audit-state/${log.replace('/', '_')}.json`;

export async function verifiedRecords(o: TenantOptions, purpose: string): Promise<{ index: number; jws: string }[]> {
  const log = `tenants/${o.tenant}`;
  const api = auditSource(tenantClient(o, ['audit:read']), log);
  const records: { index: number; jws: string }[] = [];
  // The verifier pages through every record; keep them as they pass.
  const source = {
    ...api,
    records: async (from: number, limit: number) => {
      const page = await api.records(from, limit);
      // Pages may arrive in any order (the verifier asks for several at once): each record in its place.
      for (const r of page.records) records[r.index] = r;
      return page;
    },
  };
  const statePath = defaultStatePath(log);
  const state = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as VerifierState) : undefined;
  const result = await verifyAuditLog(source, { log, state, checkRecords: parallelRecordChecker() });
  if (!result.ok) throw new Error(`${purpose}: the audit log does not verify: ${result.error}`);
  return records.slice(0, result.checkpoint.size);
}
