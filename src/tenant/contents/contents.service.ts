/**
 * Guest contents — memory pages and disk blocks — as the provider holds them:
 * client-encrypted envelopes (docs/design.md §4) that it checks for shape and size
 * only, and never decrypts (it has no key to). Memory and disks share one
 * model: a space (`memory` | `disk`), a resource (VM or disk id), page
 * indexes, and for each written page a chain of retained versions.
 *
 * Every write creates a version; every read and write names the exact
 * versions and their ciphertext digests in the request's audit record
 * (`regions`), so a tenant can tell from its log alone what was exposed and
 * what to roll back (docs/design.md §6). Versions are numbered from page heads
 * (page-versioning.ts), and the write is guarded by the primary key: a
 * concurrent writer that took the same version aborts the batch and this one
 * retries with fresh numbers.
 */
import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { write, type Commit, type CommitResult } from '../../audit/log/commit';
import type { Region } from '../../audit/format/record';
import type { ReadEvidence, SignedRecord } from '../../audit/format/evidence';
import type { Database } from '../../platform/db/client';
import { ENVELOPE_BASE64_LENGTH, ENVELOPE_BYTES, ENVELOPE_VERSION, PAGE_BYTES, type Space } from '../../lib/envelope-format';
import { NOT_YOURS } from '../../lib/problems';
import { bytesOfStoredHex, hexOf } from '../../lib/bytes';
import { fail, ok, type Result } from '../../lib/result';
import {
  PAGES_PER_GIB,
  PAGES_PER_MIB,
  rangeQuery,
  rangeWritesQuery,
  versionWritesQuery,
  type ContentAddress,
  type ContentOp,
  type StoredPageRow,
} from './content-statements';
import { rowsOf } from '../../platform/db/statements';
import { resolveFromStore } from './page-versioning';

export { ENVELOPE_BASE64_LENGTH, ENVELOPE_BYTES, PAGE_BYTES, type Space };
export const MAX_PAGES_PER_CALL = 256;
export { PAGES_PER_GIB, PAGES_PER_MIB };

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
  envelope: Uint8Array;
}

/** A page as a read serves it: its current version, that version's digest, and its envelope. */
export interface StoredPage {
  index: number;
  version: number;
  digest: string;
  envelope: Uint8Array;
}

/** Envelopes come out of D1 as hex (content-statements.ts says why); SQLite's own `hex()`, so decoded without a strictness check. */
const storedPage = ({ envelopeHex, ...page }: StoredPageRow): StoredPage => ({ ...page, envelope: bytesOfStoredHex(envelopeHex) });

export interface PageVersion {
  index: number;
  version: number;
  digest: string;
}

/**
 * An envelope as the JSON API carries it: exactly ENVELOPE_BASE64_LENGTH
 * characters of canonical padded base64 (RFC 4648 §3.5). Canonical is checked
 * by re-encoding: Buffer's decoder skips characters that are not base64 and
 * accepts base64url, so a text it did not produce exactly is refused. (A
 * counted regex did the same at ~4× the CPU; bench/profile.ts.)
 */
export function envelopeFromBase64(text: string): Result<Uint8Array, 'invalid_envelope'> {
  const bytes = text.length === ENVELOPE_BASE64_LENGTH ? Buffer.from(text, 'base64') : null;
  if (!bytes || bytes.length !== ENVELOPE_BYTES || bytes.toString('base64') !== text) {
    return fail('invalid_envelope', `An envelope is ${ENVELOPE_BYTES} bytes, sent as ${ENVELOPE_BASE64_LENGTH} characters of canonical padded base64.`);
  }
  return ok(bytes);
}

/** `sha256:` + hex of the envelope bytes, or why they are not an envelope: ENVELOPE_BYTES with the format byte first. */
export function envelopeDigest(envelope: Uint8Array): Result<string, 'invalid_envelope'> {
  if (envelope.length !== ENVELOPE_BYTES) return fail('invalid_envelope', `An envelope is ${ENVELOPE_BYTES} bytes, not ${envelope.length}.`);
  if (envelope[0] !== ENVELOPE_VERSION)
    return fail('invalid_envelope', `Envelope format byte is 0x${envelope[0]!.toString(16).padStart(2, '0')}; only 0x01 exists.`);
  // Synchronous: 64 WebCrypto digests are 64 promise round trips for 4 KiB each.
  return ok(`sha256:${createHash('sha256').update(envelope).digest('hex')}`);
}

function checkIndexes(resource: ContentResource, indexes: number[]): Result<true, 'index_out_of_range' | 'invalid_request'> {
  const outside = indexes.filter((i) => i >= resource.pages);
  if (outside.length > 0) {
    return fail(
      'index_out_of_range',
      `${resource.space === 'memory' ? 'VM' : 'Disk'} ${resource.id} has ${resource.pages} pages (0–${resource.pages - 1}); ${outside.slice(0, 5).join(', ')} is outside.`,
      {
        pages: resource.pages,
      },
    );
  }
  return distinctIndexes(indexes);
}

const distinctIndexes = (indexes: number[]): Result<true, 'invalid_request'> =>
  new Set(indexes).size === indexes.length ? ok(true) : fail('invalid_request', 'Each index may appear once per call.');

/**
 * Each lost race means another write to these pages committed first (the log's
 * sequencer orders them), so n concurrent writers of one page all land within
 * n attempts; past this many, the caller is told to retry.
 */
const MAX_ATTEMPTS = 16;

/**
 * A content operation's batch refused by its own guards (the sequencer's heads
 * were stale, or the resource is not as assumed) is tried again the slow way;
 * any other refusal is an error.
 */
function throwUnlessGuarded(result: Extract<CommitResult, { ok: false }>): void {
  if (result.rejected !== 'assertion' && result.rejected !== 'unique') throw new Error(result.message);
}

/**
 * Writes a batch of pages as new versions, with the record listing each one.
 *
 * Fast path: the log's sequencer numbers the versions from the heads it
 * follows and commits record and pages in one batch (content-statements.ts).
 * When that batch is refused (the resource is not the tenant's or too small,
 * or the heads were stale), the slow path reads D1 first and says why.
 */
export async function writePages(
  db: Database,
  commit: Commit,
  address: ContentAddress,
  pages: PageWrite[],
): Promise<
  Result<{ pages: PageVersion[]; auditIndex: number }, 'index_out_of_range' | 'invalid_request' | 'invalid_envelope' | 'not_found' | 'precondition_failed'>
> {
  const indexes = pages.map((p) => p.index);
  const distinct = distinctIndexes(indexes);
  if (!distinct.ok) return distinct;
  const digests: string[] = [];
  for (const [position, digest] of pages.map((p) => envelopeDigest(p.envelope)).entries()) {
    if (!digest.ok) return fail('invalid_envelope', `pages[${position}] (index ${pages[position]!.index}): ${digest.error.detail}`);
    digests.push(digest.value);
  }
  const op: ContentOp = {
    op: 'write',
    ...address,
    pages: pages.map((p, i) => ({
      index: p.index,
      digest: digests[i]!,
      envelopeHex: hexOf(p.envelope),
    })),
  };
  const fast = await commit([], { contents: op });
  if (fast.ok) return ok({ pages: versionsOf(fast.regions ?? []), auditIndex: fast.auditIndex });
  throwUnlessGuarded(fast);

  const resource = await contentResource(db, address.tenant, address.space, address.id);
  if (!resource.ok) return resource;
  const checked = checkIndexes(resource.value, indexes);
  if (!checked.ok) return checked;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // Numbered as on the fast path (page-versioning.ts), over the heads D1 holds now.
    const { regions, statements } = await resolveFromStore(db.$client, op);
    const committed = await commit(statements, { regions });
    if (committed.ok) return ok({ pages: versionsOf(regions), auditIndex: committed.auditIndex });
    if (committed.rejected === 'assertion') return fail('not_found', NOT_YOURS);
    if (committed.rejected !== 'unique') throw new Error(committed.message);
    // Another write took one of these versions meanwhile: number again.
  }
  return fail('precondition_failed', `Pages of ${address.id} kept changing under concurrent writes; retry.`);
}

const versionsOf = (regions: Region[]): PageVersion[] => regions.map(({ index, version, digest }) => ({ index, version, digest: digest ?? '' }));

/** One exact version of one page, with its evidence; its record is committed before the answer. */
export async function readVersion(
  db: Database,
  commit: Commit,
  resource: ContentResource,
  index: number,
  version: number,
): Promise<Result<{ page: StoredPage; evidence: ReadEvidence }, 'index_out_of_range' | 'invalid_request' | 'not_found'>> {
  const checked = checkIndexes(resource, [index]);
  if (!checked.ok) return checked;
  const writes = versionWritesQuery(resource.space, resource.id, index, version);
  const [pageRows, writeRows] = await db.$client.batch([
    db.$client
      .prepare(
        'SELECT idx AS "index", version, digest, hex(envelope) AS envelopeHex FROM content_versions WHERE space = ? AND resource_id = ? AND idx = ? AND version = ?',
      )
      .bind(resource.space, resource.id, index, version),
    db.$client.prepare(writes.sql).bind(...writes.params),
  ]);
  const row = pageRows!.results[0] as StoredPageRow | undefined;
  if (!row) return fail('not_found', `Page ${index} of ${resource.id} has no version ${version}.`);
  const page = storedPage(row);
  const read = await recordRead(commit, readRegions(resource, [page]));
  return ok({ page, evidence: { read, writes: rowsOf(writes, writeRows!.results) } });
}

/** Commits a read's record now (its regions as served), so the answer can carry it. */
async function recordRead(commit: Commit, regions: Region[]): Promise<SignedRecord> {
  const committed = await commit([], { regions, status: 200 });
  if (!committed.ok || !committed.jws) throw new Error(`the read's record was not committed: ${committed.ok ? 'no JWS' : committed.message}`);
  return { index: committed.auditIndex, jws: committed.jws };
}

const readRegions = (resource: ContentResource, pages: StoredPage[]): Region[] =>
  pages.map(({ index, version, digest }) => ({ space: resource.space, resource: resource.id, index, version, digest, access: 'read' }));

interface ResourceRow {
  pages: number;
  vm: string | null;
}

/** The resource's size and attachment. */
function resourceQuery(tenant: string, space: Space, id: string): SQL {
  return space === 'memory'
    ? sql`SELECT memory_mib * ${PAGES_PER_MIB} AS pages, id AS vm FROM vms WHERE id = ${id} AND tenant_id = ${tenant}`
    : sql`SELECT size_gib * ${PAGES_PER_GIB} AS pages, vm_id AS vm FROM disks WHERE id = ${id} AND tenant_id = ${tenant}`;
}

type Resolved = Result<ContentResource, 'not_found'>;

function resolveResource(row: ResourceRow | undefined, tenant: string, space: Space, id: string): Resolved {
  if (!row) return fail('not_found', NOT_YOURS);
  return ok({ space, id, tenant, pages: row.pages });
}

/** A VM's memory or a disk, if it is `tenant`'s (the VM ceiling is checked before: auth/vm-reach.ts). */
export async function contentResource(db: Database, tenant: string, space: Space, id: string): Promise<Resolved> {
  const [row] = await db.all<ResourceRow>(resourceQuery(tenant, space, id));
  return resolveResource(row, tenant, space, id);
}

/**
 * A resource whose versions the tenant may still read: one it has, or one it
 * deleted whose versions the log still names (issue 30: deleting a VM or a
 * disk keeps them reachable until the tenant purges them). A deleted
 * resource has no size: any index is in range.
 */
export async function retainedResource(db: Database, tenant: string, space: Space, id: string): Promise<Resolved> {
  const live = await contentResource(db, tenant, space, id);
  if (live.ok) return live;
  const [kept] = await db.all<{ n: number }>(
    sql`SELECT count(*) AS n FROM (SELECT 1 FROM content_versions WHERE space = ${space} AND resource_id = ${id} AND tenant_id = ${tenant} LIMIT 1)`,
  );
  return kept && kept.n > 0 ? ok({ space, id, tenant, pages: Number.MAX_SAFE_INTEGER }) : live;
}

/** Versions purged per call: a purge's record names each one, and a record is bounded. */
export const MAX_PURGED_PER_CALL = 512;

export interface PurgedVersion {
  index: number;
  version: number;
  digest: string;
}

/**
 * Purges the retained versions of a resource the tenant deleted, up to
 * `MAX_PURGED_PER_CALL` at a time (call again while `remaining` > 0): the only
 * way versions the log names go (issue 30). The record names every version
 * and digest purged, in the batch that deletes them. A resource that still
 * exists is refused: delete it first (crypto-shredding, `recover rotate`, is
 * how to make live versions unreadable).
 */
export async function purgeVersions(
  db: Database,
  commit: Commit,
  tenant: string,
  space: Space,
  id: string,
): Promise<Result<{ purged: PurgedVersion[]; remaining: number }, 'not_found' | 'resource_in_use'>> {
  const live = await contentResource(db, tenant, space, id);
  if (live.ok) return fail('resource_in_use', `${id} still exists: delete it first; its versions are purged after.`);
  const rows = await db.all<PurgedVersion & { total: number }>(sql`
    SELECT idx AS "index", version, digest, (SELECT count(*) FROM content_versions WHERE space = ${space} AND resource_id = ${id} AND tenant_id = ${tenant}) AS total
    FROM content_versions WHERE space = ${space} AND resource_id = ${id} AND tenant_id = ${tenant}
    ORDER BY idx, version LIMIT ${MAX_PURGED_PER_CALL}`);
  if (rows.length === 0) return fail('not_found', NOT_YOURS);
  const purged = rows.map(({ index, version, digest }) => ({ index, version, digest }));
  const pairs = JSON.stringify(purged.map((p) => [p.index, p.version]));
  const committed = await commit(
    [
      write(
        sql`DELETE FROM content_versions WHERE space = ${space} AND resource_id = ${id} AND tenant_id = ${tenant} AND (idx, version) IN (SELECT j.value ->> 0, j.value ->> 1 FROM json_each(${pairs}) j)`,
      ),
      write(
        sql`DELETE FROM content_heads WHERE space = ${space} AND resource_id = ${id} AND NOT EXISTS (SELECT 1 FROM content_versions v WHERE v.space = content_heads.space AND v.resource_id = content_heads.resource_id AND v.idx = content_heads.idx AND v.version = content_heads.version)`,
      ),
    ],
    { target: { type: space === 'memory' ? 'vm' : 'disk', id }, details: { space, resource: id, purged: purged as never } },
  );
  if (!committed.ok) throw new Error(committed.message);
  return ok({ purged, remaining: rows[0]!.total - purged.length });
}

/**
 * The current version of each written page in [start, start+count).
 *
 * Fast path: the log's sequencer names the versions from the heads it
 * follows, and one batch commits the record and reads the pages, asserting
 * that they are the versions named (content-statements.ts); the record is
 * then already written (`recorded`). Slow path, when that batch is refused:
 * the resource and the pages read from D1 in one round trip, the record
 * appended after the response is formed.
 */
export async function readRange(
  db: Database,
  commit: Commit,
  address: ContentAddress,
  range: { start: number; count: number },
): Promise<Result<{ pages: StoredPage[]; evidence: ReadEvidence }, 'not_found' | 'index_out_of_range' | 'invalid_request'>> {
  const { start, count } = range;
  const { tenant, space, id } = address;
  const fast = await commit([], { contents: { op: 'read', ...address, start, count }, status: 200 });
  if (fast.ok) {
    // The sequencer returns a content read's last two statements' rows: the records that wrote the versions, and the pages (content-statements.ts).
    const [writeRows, pageRows] = fast.rows.slice(-2);
    const writes = rowsOf(rangeWritesQuery(space, id, start, count), writeRows ?? []);
    return ok({
      pages: rowsOf(rangeQuery(space, id, start, count), pageRows ?? []).map(storedPage),
      evidence: { read: { index: fast.auditIndex, jws: fast.jws! }, writes },
    });
  }
  throwUnlessGuarded(fast);

  const [writesQuery, pagesQuery] = [rangeWritesQuery(space, id, start, count), rangeQuery(space, id, start, count)] as const;
  const statements = [write(resourceQuery(tenant, space, id)), writesQuery, pagesQuery].map(({ sql: text, params }) =>
    db.$client.prepare(text).bind(...params),
  );
  // One round trip for the reads (a read-only D1 batch).
  const [resourceRows, writeRows, pageRows] = await db.$client.batch(statements);
  const row = resourceRows!.results[0] as ResourceRow | undefined;
  const pages = rowsOf(pagesQuery, pageRows!.results).map(storedPage);
  const resource = resolveResource(row, tenant, space, id);
  if (!resource.ok) return resource;
  if (start + count > resource.value.pages) {
    return fail('index_out_of_range', `${id} has ${resource.value.pages} pages; ${start}+${count} reaches past the end.`, { pages: resource.value.pages });
  }
  const read = await recordRead(commit, readRegions(resource.value, pages));
  return ok({ pages, evidence: { read, writes: rowsOf(writesQuery, writeRows!.results) } });
}
