/**
 * Guest contents — memory pages and disk blocks — as the provider holds them:
 * client-encrypted envelopes (DESIGN §4) that it checks for shape and size
 * only, and never decrypts (it has no key to). Memory and disks share one
 * model: a space (`memory` | `disk`), a resource (VM or disk id), page
 * indexes, and for each written page a chain of retained versions.
 *
 * Every write creates a version; every read and write names the exact
 * versions and their ciphertext digests in the request's audit record
 * (`regions`), so a tenant can tell from its log alone what was exposed and
 * what to roll back (DESIGN §6). Versions are numbered from a read, and the
 * write is guarded by the primary key: a concurrent writer that took the same
 * version aborts the batch and this one retries with fresh numbers.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../audit/commit';
import type { Region } from '../audit/record';
import type { Database } from '../db/client';
import { fail, ok, type Result } from '../lib/result';

export type Space = 'memory' | 'disk';

/** Plaintext bytes per memory page or disk block (DESIGN §3). */
export const PAGE_BYTES = 4096;
/** `0x01 | key-id (16) | nonce (12) | AES-256-GCM ciphertext (4096) + tag (16)`. */
export const ENVELOPE_BYTES = 1 + 16 + 12 + PAGE_BYTES + 16;
export const ENVELOPE_VERSION = 0x01;
/** Base64 (RFC 4648 §4, padded) length of an envelope. */
export const ENVELOPE_BASE64_LENGTH = Math.ceil(ENVELOPE_BYTES / 3) * 4;
export const MAX_PAGES_PER_CALL = 256;
/** Pages per MiB of memory and per GiB of disk. */
export const PAGES_PER_MIB = (1024 * 1024) / PAGE_BYTES;
export const PAGES_PER_GIB = PAGES_PER_MIB * 1024;

/** A VM's memory or a disk, resolved and owned by the caller's tenant. */
export interface ContentResource {
  space: Space;
  id: string;
  tenant: string;
  /** Addressable pages: indexes 0…pages−1. */
  pages: number;
}

export interface PageWrite {
  index: number;
  /** Base64 envelope. */
  envelope: string;
}

export interface PageVersion {
  index: number;
  version: number;
  digest: string;
}

export interface StoredPage extends PageVersion {
  envelope: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `sha256:` + hex of the envelope bytes, or why the text is not an envelope. */
export function envelopeDigest(envelope: string): Result<string, 'invalid_envelope'> {
  if (envelope.length !== ENVELOPE_BASE64_LENGTH || !BASE64.test(envelope)) {
    return fail('invalid_envelope', `An envelope is ${ENVELOPE_BYTES} bytes, sent as ${ENVELOPE_BASE64_LENGTH} characters of padded base64.`);
  }
  const bytes = Buffer.from(envelope, 'base64');
  if (bytes.length !== ENVELOPE_BYTES || bytes.toString('base64') !== envelope) {
    return fail('invalid_envelope', `An envelope is ${ENVELOPE_BYTES} bytes in canonical padded base64.`);
  }
  if (bytes[0] !== ENVELOPE_VERSION) return fail('invalid_envelope', `Envelope format byte is 0x${bytes[0]!.toString(16).padStart(2, '0')}; only 0x01 exists.`);
  return ok(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
}

const resourceTable = (space: Space) => (space === 'memory' ? sql.raw('vms') : sql.raw('disks'));

function checkIndexes(resource: ContentResource, indexes: number[]): Result<true, 'index_out_of_range' | 'invalid_request'> {
  const outside = indexes.filter((i) => i >= resource.pages);
  if (outside.length > 0) {
    return fail('index_out_of_range', `${resource.space === 'memory' ? 'VM' : 'Disk'} ${resource.id} has ${resource.pages} pages (0–${resource.pages - 1}); ${outside.slice(0, 5).join(', ')} is outside.`, {
      pages: resource.pages,
    });
  }
  if (new Set(indexes).size !== indexes.length) return fail('invalid_request', 'Each index may appear once per call.');
  return ok(true);
}

const MAX_ATTEMPTS = 4;

/** Writes a batch of pages as new versions, with the record listing each one. */
export async function writePages(
  db: Database,
  commit: Commit,
  resource: ContentResource,
  pages: PageWrite[],
): Promise<Result<{ pages: PageVersion[]; auditIndex: number }, 'index_out_of_range' | 'invalid_request' | 'invalid_envelope' | 'not_found' | 'precondition_failed'>> {
  const indexes = pages.map((p) => p.index);
  const checked = checkIndexes(resource, indexes);
  if (!checked.ok) return checked;
  const digests: string[] = [];
  for (const [position, page] of pages.entries()) {
    const digest = envelopeDigest(page.envelope);
    if (!digest.ok) return fail('invalid_envelope', `pages[${position}] (index ${page.index}): ${digest.error.detail}`);
    digests.push(digest.value);
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const latest = await latestVersions(db, resource, indexes);
    const written = pages.map((p, i) => ({ index: p.index, version: (latest.get(p.index) ?? 0) + 1, digest: digests[i]!, envelope: p.envelope }));
    const rows = JSON.stringify(written);
    const insert = sql`
      INSERT INTO content_versions (space, resource_id, idx, version, tenant_id, digest, envelope)
      SELECT ${resource.space}, ${resource.id}, json_extract(j.value, '$.index'), json_extract(j.value, '$.version'), ${resource.tenant},
             json_extract(j.value, '$.digest'), json_extract(j.value, '$.envelope')
      FROM json_each(${rows}) j
      WHERE EXISTS (SELECT 1 FROM ${resourceTable(resource.space)} WHERE id = ${resource.id} AND tenant_id = ${resource.tenant})`;
    const heads = sql`
      INSERT INTO content_heads (space, resource_id, idx, version)
      SELECT ${resource.space}, ${resource.id}, json_extract(j.value, '$.index'), json_extract(j.value, '$.version') FROM json_each(${rows}) j
      WHERE true ON CONFLICT (space, resource_id, idx) DO UPDATE SET version = excluded.version`;
    const regions: Region[] = written.map(({ index, version, digest }) => ({ space: resource.space, resource: resource.id, index, version, digest, access: 'write' }));
    const committed = await commit([write(insert), expectChanges(`${resource.space}.write`, written.length), write(heads)], { regions });
    const result = written.map(({ index, version, digest }) => ({ index, version, digest }));
    if (committed.ok) return ok({ pages: result, auditIndex: committed.auditIndex });
    if (committed.rejected === 'assertion') return fail('not_found', `${resource.id} no longer exists.`);
    if (committed.rejected !== 'unique') throw new Error(committed.message);
    // Another write took one of these versions meanwhile: number again.
  }
  return fail('precondition_failed', `Pages of ${resource.id} kept changing under concurrent writes; retry.`);
}

async function latestVersions(db: Database, resource: ContentResource, indexes: number[]): Promise<Map<number, number>> {
  const rows = await db.all<{ idx: number; version: number }>(sql`
    SELECT idx, MAX(version) AS version FROM content_versions
    WHERE space = ${resource.space} AND resource_id = ${resource.id} AND idx IN (SELECT value FROM json_each(${JSON.stringify(indexes)}))
    GROUP BY idx`);
  return new Map(rows.map((r) => [r.idx, r.version]));
}

/** The current version of each written page in [start, start+count); unwritten pages are left out. */
export async function readPages(
  db: Database,
  resource: ContentResource,
  start: number,
  count: number,
): Promise<Result<{ pages: StoredPage[]; regions: Region[] }, 'index_out_of_range' | 'invalid_request'>> {
  if (start + count > resource.pages) {
    return fail('index_out_of_range', `${resource.id} has ${resource.pages} pages; ${start}+${count} reaches past the end.`, { pages: resource.pages });
  }
  const pages = await db.all<StoredPage>(sql`
    SELECT h.idx AS "index", v.version, v.digest, v.envelope
    FROM content_heads h JOIN content_versions v USING (space, resource_id, idx, version)
    WHERE h.space = ${resource.space} AND h.resource_id = ${resource.id} AND h.idx >= ${start} AND h.idx < ${start + count}
    ORDER BY h.idx`);
  return ok({ pages, regions: readRegions(resource, pages) });
}

/** One exact version of one page. */
export async function readVersion(
  db: Database,
  resource: ContentResource,
  index: number,
  version: number,
): Promise<Result<{ page: StoredPage; regions: Region[] }, 'index_out_of_range' | 'invalid_request' | 'not_found'>> {
  const checked = checkIndexes(resource, [index]);
  if (!checked.ok) return checked;
  const [page] = await db.all<StoredPage>(sql`
    SELECT idx AS "index", version, digest, envelope FROM content_versions
    WHERE space = ${resource.space} AND resource_id = ${resource.id} AND idx = ${index} AND version = ${version}`);
  if (!page) return fail('not_found', `Page ${index} of ${resource.id} has no version ${version}.`);
  return ok({ page, regions: readRegions(resource, [page]) });
}

const readRegions = (resource: ContentResource, pages: StoredPage[]): Region[] =>
  pages.map(({ index, version, digest }) => ({ space: resource.space, resource: resource.id, index, version, digest, access: 'read' }));

/**
 * A VM's memory or a disk, if it is `tenant`'s; `allowedVms` (a VM-limited
 * token) further restricts disks to those attached to one of those VMs.
 */
export async function contentResource(
  db: Database,
  tenant: string,
  space: Space,
  id: string,
  allowedVms?: readonly string[],
): Promise<Result<ContentResource, 'not_found' | 'vm_not_allowed'>> {
  if (space === 'memory') {
    const [vm] = await db.all<{ memoryMiB: number }>(sql`SELECT memory_mib AS memoryMiB FROM vms WHERE id = ${id} AND tenant_id = ${tenant}`);
    if (!vm) return fail('not_found', `VM ${id} does not exist in tenant ${tenant}.`);
    return ok({ space, id, tenant, pages: vm.memoryMiB * PAGES_PER_MIB });
  }
  const [disk] = await db.all<{ sizeGiB: number; vm: string | null }>(sql`SELECT size_gib AS sizeGiB, vm_id AS vm FROM disks WHERE id = ${id} AND tenant_id = ${tenant}`);
  if (!disk) return fail('not_found', `Disk ${id} does not exist in tenant ${tenant}.`);
  if (allowedVms && !(disk.vm && allowedVms.includes(disk.vm))) {
    return fail('vm_not_allowed', `The token is limited to VMs ${allowedVms.join(', ')}; disk ${id} is not attached to one of them.`);
  }
  return ok({ space, id, tenant, pages: disk.sizeGiB * PAGES_PER_GIB });
}
