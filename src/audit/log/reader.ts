/**
 * Read side of the audit logs: records, checkpoints and proofs. Proofs read
 * only the O(log n) stored subtree hashes they need, in one query
 * (`merkle.nodesNeeded` lists them first).
 */
import { fail, ok, type Result } from '../../lib/result';
import type { Env } from '../../env';
import { consistencyProof, EMPTY_ROOT, inclusionProof, nodesNeeded, type NodeSource } from '../format/merkle';
import { signCheckpoint } from '../format/checkpoint';
import { auditSigningKey } from '../signing/signing-key';
import { hexOf, hexToBytes } from '../../lib/bytes';

export interface LogHead {
  size: number;
  root: string;
  checkpoint: string;
}

const hex = hexOf;

export async function logHead(env: Env, log: string): Promise<LogHead> {
  const row = await env.DB.prepare('SELECT size, root, checkpoint FROM audit_logs WHERE log = ?').bind(log).first<LogHead>();
  if (row) return row;
  // Nothing appended yet: the empty tree, freshly signed.
  const key = await auditSigningKey(env.AUDIT_SIGNING_JWK);
  return { size: 0, root: hex(EMPTY_ROOT), checkpoint: await signCheckpoint(log, 0, EMPTY_ROOT, key) };
}

export interface RecordPage {
  records: { index: number; jws: string }[];
  /** `from` of the next page, absent when the page reached the current end of the log. */
  next?: number;
}

export async function listRecords(env: Env, log: string, from: number, limit: number): Promise<RecordPage> {
  const { results } = await env.DB.prepare('SELECT idx AS "index", jws FROM audit_records WHERE log = ? AND idx >= ? ORDER BY idx LIMIT ?')
    .bind(log, from, limit + 1)
    .all<{ index: number; jws: string }>();
  const records = results.slice(0, limit);
  return results.length > limit ? { records, next: from + limit } : { records };
}

async function nodeSource(env: Env, log: string, compute: (nodes: NodeSource) => Uint8Array[]): Promise<string[]> {
  const needed = nodesNeeded(compute);
  if (needed.length === 0) return [];
  const { results } = await env.DB.prepare(
    `SELECT level, idx, hash FROM audit_nodes WHERE log = ?
       AND (level, idx) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
  )
    .bind(log, JSON.stringify(needed.map((n) => [n.level, n.index])))
    .all<{ level: number; idx: number; hash: string }>();
  const byKey = new Map(results.map((r) => [`${r.level}:${r.idx}`, hexToBytes(r.hash)]));
  const proof = compute((level, index) => {
    const hash = byKey.get(`${level}:${index}`);
    if (!hash) throw new Error(`audit node ${log} ${level}:${index} is missing`);
    return hash;
  });
  return proof.map(hex);
}

/**
 * A proof over the tree of `size` records (at most the log's), once `order`
 * (the proof's own bound, e.g. index below size) holds.
 */
async function prove(env: Env, log: string, [name, size]: [string, number], order: string | null, build: (nodes: NodeSource) => Uint8Array[]) {
  const head = await logHead(env, log);
  if (size > head.size) return fail('invalid_request', `${name} ${size} is beyond the log's ${head.size} records.`);
  if (order) return fail('invalid_request', order);
  return ok(await nodeSource(env, log, build));
}

export async function proveInclusion(
  env: Env,
  log: string,
  index: number,
  size: number,
): Promise<Result<{ index: number; size: number; proof: string[] }, 'invalid_request'>> {
  const proof = await prove(env, log, ['size', size], index >= size ? `index ${index} is not below size ${size}.` : null, (nodes) =>
    inclusionProof(index, size, nodes),
  );
  return proof.ok ? ok({ index, size, proof: proof.value }) : proof;
}

export async function proveConsistency(
  env: Env,
  log: string,
  from: number,
  to: number,
): Promise<Result<{ from: number; to: number; proof: string[] }, 'invalid_request'>> {
  const proof = await prove(env, log, ['to', to], from > to ? `from ${from} is after to ${to}.` : null, (nodes) => consistencyProof(from, to, nodes));
  return proof.ok ? ok({ from, to, proof: proof.value }) : proof;
}

/** Record-signing keys, current and retired (docs/design.md §5): old records stay verifiable. */
export async function signingKeys(env: Env): Promise<{ keys: Record<string, unknown>[] }> {
  const { results } = await env.DB.prepare("SELECT public_jwk, state FROM audit_keys WHERE state <> 'approved' ORDER BY activated_at").all<{
    public_jwk: string;
    state: string;
  }>();
  const keys = results.map((r) => ({ ...JSON.parse(r.public_jwk), status: r.state }));
  const current = await auditSigningKey(env.AUDIT_SIGNING_JWK);
  if (!keys.some((k) => k.kid === current.kid)) keys.push({ ...current.publicJwk, status: 'active' });
  return { keys };
}
