/**
 * The log's references stay reachable (issue 30): every version a write
 * record of the tenant's verified log names — of live resources and of
 * deleted ones — is fetched and its bytes hashed against the digest the log
 * names. A version missing, or different, is the provider's doing; only the
 * tenant's audited purge (`contents.purge`, naming each version) may take one.
 */
import type { AuditRecord } from '../audit/format/record.ts';
import { jwsPayload } from '../audit/format/jws.ts';
import type { ApiClient } from './client.ts';
import { CustodesApiError } from './errors.ts';
import { pageVersionEnvelope, publishedRecordVerifier, type RecordVerifier } from './guest-contents.ts';
import { ProviderMisbehaviourError } from './read-evidence.ts';
import { createHash } from 'node:crypto';

export interface NamedVersion {
  space: 'memory' | 'disk';
  resource: string;
  index: number;
  version: number;
  /** The digest the write record names. */
  digest: string;
  /** The record that wrote it. */
  writtenBy: number;
}

export interface ContentsReport {
  /** Versions the log names that were not purged. */
  named: number;
  checked: number;
  /** Purged by the tenant's own audited purges. */
  purged: number;
  missing: NamedVersion[];
  altered: (NamedVersion & { why: string })[];
}

const keyOf = (v: { space: string; resource: string; index: number; version: number }) => `${v.space}/${v.resource}/${v.index}@${v.version}`;

/** Every version the records (of a verified log) wrote and did not purge since. */
export function namedVersions(records: readonly { jws: string }[]): { versions: NamedVersion[]; purged: number } {
  const named = new Map<string, NamedVersion>();
  let purged = 0;
  for (const { jws } of records) {
    const record = jwsPayload<AuditRecord>(jws);
    if (record.outcome !== 'allowed') continue;
    for (const r of record.regions ?? []) {
      if (r.access === 'write' && r.digest)
        named.set(keyOf(r), { space: r.space, resource: r.resource, index: r.index, version: r.version, digest: r.digest, writtenBy: record.index });
    }
    if (record.action === 'contents.purge') {
      const details = record.details as { space: 'memory' | 'disk'; resource: string; purged: { index: number; version: number }[] };
      for (const p of details.purged ?? []) if (named.delete(keyOf({ space: details.space, resource: details.resource, ...p }))) purged++;
    }
  }
  return { versions: [...named.values()], purged };
}

/**
 * Fetches each version the log names (all of them, or a random `sample`) and
 * checks its bytes against the log's digest. Answers what is missing or altered.
 */
export async function checkLogContents(
  api: ApiClient,
  tenant: string,
  records: readonly { jws: string }[],
  options: { sample?: number; verify?: RecordVerifier } = {},
): Promise<ContentsReport> {
  const { versions, purged } = namedVersions(records);
  const verify = options.verify ?? publishedRecordVerifier(api);
  const chosen =
    options.sample !== undefined && options.sample < versions.length ? [...versions].sort(() => Math.random() - 0.5).slice(0, options.sample) : versions;
  const report: ContentsReport = { named: versions.length, checked: 0, purged, missing: [], altered: [] };
  for (const v of chosen) {
    report.checked++;
    try {
      const bytes = await pageVersionEnvelope(api, { tenant, space: v.space, resource: v.resource }, v.index, v.version, verify);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (digest !== v.digest) report.altered.push({ ...v, why: `served ${digest}` });
    } catch (error) {
      if (error instanceof CustodesApiError && error.problem.status === 404) report.missing.push(v);
      else if (error instanceof ProviderMisbehaviourError) report.altered.push({ ...v, why: error.message });
      else throw error;
    }
  }
  return report;
}
