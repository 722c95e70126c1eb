/**
 * The D1 statements of content access, as plain SQL (they run in the log's
 * sequencer, which has no query builder, and on the hot path of every page
 * read and write).
 *
 * A content operation (`ContentOp`) reaches the sequencer without versions:
 * the sequencer resolves them from its heads (./content-heads.ts), so the
 * record names them before it is signed, and commits the record with the
 * read or the write in ONE batch. The batch asserts what the record assumed:
 *  - the resource is the tenant's and reaches the highest index touched;
 *  - for a read, D1's heads in the range are exactly the versions named
 *    (as many rows, and every (index, version) pair matching);
 *  - for a write, each new version is free (the primary key) and the
 *    resource exists (each insert's row count).
 * Any of these failing aborts the batch — no record, no change — and the
 * request falls back to reading D1 first (contents.service.ts).
 */
import { expectChanges, type Query, type WriteStatement } from '../../platform/db/statements';
import type { SignedRecord } from '../../audit/format/evidence';
import type { Region } from '../../audit/format/record';
import { PAGE_BYTES, type Space } from '../../lib/envelope-format';
import { CHUNK_PAGES, chunkOf, chunksOf, type HeadsDraft, type LoadedPage } from './content-heads';

declare module '../../audit/log/extensions' {
  interface AppendEffects {
    /**
     * A page read or write whose versions the sequencer resolves from the heads
     * it follows: the record names them and the batch carries the read or the
     * write, asserting them — one D1 round trip, not two.
     */
    contents?: ContentOp;
  }
}

/** Pages per MiB of memory and per GiB of disk. */
export const PAGES_PER_MIB = (1024 * 1024) / PAGE_BYTES;
export const PAGES_PER_GIB = PAGES_PER_MIB * 1024;

/** A VM's memory or a disk of a tenant. */
export interface ContentAddress {
  space: Space;
  /** VM id (memory) or disk id. */
  id: string;
  tenant: string;
}

/** A page read or write as the log's sequencer receives it, versions not yet resolved (./page-versioning.ts names them). */
export type ContentOp =
  | (ContentAddress & { op: 'read'; start: number; count: number })
  | (ContentAddress & { op: 'write'; pages: { index: number; digest: string; envelopeHex: string }[] });

/**
 * A page as a read finds it: its current version, that version's digest, and its envelope as hex.
 * Envelopes are stored as BLOBs (4141 bytes, not 5,524 characters of base64) but cross D1's
 * binding as hex: `unhex(?)` in, `hex(…)` out. D1 hands a BLOB over as an array of numbers in
 * JSON, measured 4–5× slower than the same bytes as a hex string both ways (issue 34).
 */
export interface StoredPageRow {
  index: number;
  version: number;
  digest: string;
  envelopeHex: string;
}

export interface PageWritten {
  index: number;
  version: number;
  digest: string;
  envelopeHex: string;
}

const assertion = (label: string, expected: number, actual: string, params: unknown[]): WriteStatement => ({
  sql: `INSERT INTO write_assertions (label, expected, actual) VALUES (?, ?, (${actual}))`,
  params: [label, expected, ...params],
});

/** The resource is `tenant`'s and has at least `pages` pages. */
export function resourceGuard(address: ContentAddress, pages: number): WriteStatement {
  const size = address.space === 'memory' ? `memory_mib * ${PAGES_PER_MIB}` : `size_gib * ${PAGES_PER_GIB}`;
  const table = address.space === 'memory' ? 'vms' : 'disks';
  return assertion(`${address.space} resource`, 1, `SELECT count(*) FROM ${table} WHERE id = ? AND tenant_id = ? AND ${size} >= ?`, [
    address.id,
    address.tenant,
    pages,
  ]);
}

/** Every page of one chunk that was ever written: its head, the head's digest, and its highest version. */
export function chunkQuery(space: Space, resource: string, chunk: number): Query<LoadedPage> {
  return {
    columns: ['idx', 'max', 'head', 'digest'],
    sql: `SELECT v.idx AS idx, MAX(v.version) AS max, h.version AS head, hv.digest AS digest
          FROM content_versions v
          LEFT JOIN content_heads h ON h.space = v.space AND h.resource_id = v.resource_id AND h.idx = v.idx
          LEFT JOIN content_versions hv ON hv.space = h.space AND hv.resource_id = h.resource_id AND hv.idx = h.idx AND hv.version = h.version
          WHERE v.space = ? AND v.resource_id = ? AND v.idx >= ? AND v.idx < ?
          GROUP BY v.idx`,
    params: [space, resource, chunk * CHUNK_PAGES, (chunk + 1) * CHUNK_PAGES],
  };
}

/** The chunks an operation needs loaded. */
export function chunksNeeded(op: ContentOp): number[] {
  if (op.op === 'read') return chunksOf(op.start, op.count);
  return [...new Set(op.pages.map((p) => chunkOf(p.index)))];
}

/** 5 fixed parameters + 4 per row ≤ 100 (D1's limit per statement). */
const ROWS_PER_INSERT = 23;

/**
 * New versions of pages and their heads: each insert guarded on the resource
 * being the tenant's (its row count asserted), the versions on the primary key.
 */
export function pageWriteStatements(address: ContentAddress, written: PageWritten[]): WriteStatement[] {
  const table = address.space === 'memory' ? 'vms' : 'disks';
  const inserts: WriteStatement[] = [];
  for (let at = 0; at < written.length; at += ROWS_PER_INSERT) {
    const chunk = written.slice(at, at + ROWS_PER_INSERT);
    // Envelopes bound as plain parameters (no JSON for SQLite to parse).
    inserts.push(
      {
        sql: `INSERT INTO content_versions (space, resource_id, idx, version, tenant_id, digest, envelope)
              SELECT ?, ?, column1, column2, ?, column3, unhex(column4) FROM (VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')})
              WHERE EXISTS (SELECT 1 FROM ${table} WHERE id = ? AND tenant_id = ?)`,
        params: [address.space, address.id, address.tenant, ...chunk.flatMap((w) => [w.index, w.version, w.digest, w.envelopeHex]), address.id, address.tenant],
      },
      expectChanges(`${address.space}.write`, chunk.length),
    );
  }
  // Heads from (index, version) pairs only.
  inserts.push({
    sql: `INSERT INTO content_heads (space, resource_id, idx, version)
          SELECT ?, ?, j.value ->> 0, j.value ->> 1 FROM json_each(?) j
          WHERE true ON CONFLICT (space, resource_id, idx) DO UPDATE SET version = excluded.version`,
    params: [address.space, address.id, JSON.stringify(written.map((w) => [w.index, w.version]))],
  });
  return inserts;
}

/** The current version of each written page in the range, with its envelope (hex). */
export function rangeQuery(space: Space, resource: string, start: number, count: number): Query<StoredPageRow> {
  return {
    columns: ['index', 'version', 'digest', 'envelopeHex'],
    sql: `SELECT h.idx AS "index", v.version, v.digest, hex(v.envelope) AS envelopeHex
          FROM content_heads h JOIN content_versions v USING (space, resource_id, idx, version)
          WHERE h.space = ? AND h.resource_id = ? AND h.idx >= ? AND h.idx < ?
          ORDER BY h.idx`,
    params: [space, resource, start, start + count],
  };
}

/**
 * The signed records that wrote the versions a read serves (issue 30): for
 * each current head in the range, the record whose regions wrote that exact
 * version (a page write, or a restore's copy), as it is in the log. The
 * reader checks each envelope's hash against them: the provider cannot serve
 * other bytes under a version without contradicting a record it cannot sign.
 */
export function rangeWritesQuery(space: Space, resource: string, start: number, count: number): Query<SignedRecord> {
  // The distinct record indexes first, then their JWS: DISTINCT over the JWS text itself would sort kilobytes a row.
  return {
    columns: ['index', 'jws'],
    sql: `SELECT a.idx AS "index", a.jws FROM audit_records a
          WHERE (a.log, a.idx) IN (
            SELECT f.log, f.audit_index FROM content_heads h
            JOIN content_flows f ON f.space = h.space AND f.resource_id = h.resource_id AND f.idx = h.idx AND f.version = h.version AND f.kind = 'write'
            WHERE h.space = ? AND h.resource_id = ? AND h.idx >= ? AND h.idx < ?)`,
    params: [space, resource, start, start + count],
  };
}

/** The signed record that wrote one exact version (see `rangeWritesQuery`). */
export function versionWritesQuery(space: Space, resource: string, index: number, version: number): Query<SignedRecord> {
  return {
    columns: ['index', 'jws'],
    sql: `SELECT a.idx AS "index", a.jws FROM audit_records a
          WHERE (a.log, a.idx) IN (SELECT f.log, f.audit_index FROM content_flows f WHERE f.space = ? AND f.resource_id = ? AND f.idx = ? AND f.version = ? AND f.kind = 'write')`,
    params: [space, resource, index, version],
  };
}

/** A resolved operation: the regions its record names, and its statements (a read's write records come from the second-to-last, its pages from the last). */
export interface ResolvedContentOp {
  regions: Region[];
  statements: WriteStatement[];
}

/** Numbers a write, or names a read's versions, from the heads; undefined when a chunk it needs is not loaded. */
export function resolveContentOp(op: ContentOp, heads: HeadsDraft): ResolvedContentOp | undefined {
  const region = (index: number, version: number, digest: string, access: 'read' | 'write'): Region => ({
    space: op.space,
    resource: op.id,
    index,
    version,
    digest,
    access,
  });
  if (op.op === 'write') {
    const written: PageWritten[] = [];
    for (const p of op.pages) {
      const state = heads.get(op.space, op.id, p.index);
      if (!state) return undefined;
      written.push({ index: p.index, version: state.max + 1, digest: p.digest, envelopeHex: p.envelopeHex });
    }
    const highest = Math.max(...op.pages.map((p) => p.index));
    return {
      regions: written.map((w) => region(w.index, w.version, w.digest, 'write')),
      statements: [resourceGuard(op, highest + 1), ...pageWriteStatements(op, written)],
    };
  }
  const regions: Region[] = [];
  let unknownDigest = false;
  for (let index = op.start; index < op.start + op.count; index++) {
    const state = heads.get(op.space, op.id, index);
    if (!state) return undefined;
    if (state.head > 0 && !state.digest) unknownDigest = true;
    if (state.head > 0) regions.push(region(index, state.head, state.digest ?? '', 'read'));
  }
  // A head whose digest the sequencer does not know (a rollback record without one): no record may name it; the read goes the slow way.
  if (unknownDigest) return { regions, statements: [assertion(`${op.space} head digest known`, 1, 'SELECT 0', [])] };
  const inRange = 'FROM content_heads h WHERE h.space = ? AND h.resource_id = ? AND h.idx >= ? AND h.idx < ?';
  const range = [op.space, op.id, op.start, op.start + op.count];
  return {
    regions,
    statements: [
      resourceGuard(op, op.start + op.count),
      // D1's heads in the range are exactly the ones the record names: as many, and each (index, version) matching.
      assertion(`${op.space} heads`, regions.length, `SELECT count(*) ${inRange}`, range),
      assertion(
        `${op.space} head versions`,
        regions.length,
        `SELECT count(*) ${inRange} AND (h.idx, h.version) IN (SELECT j.value ->> 0, j.value ->> 1 FROM json_each(?) j)`,
        [...range, JSON.stringify(regions.map((r) => [r.index, r.version]))],
      ),
      rangeWritesQuery(op.space, op.id, op.start, op.count),
      rangeQuery(op.space, op.id, op.start, op.count),
    ],
  };
}
