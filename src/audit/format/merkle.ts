/**
 * Merkle tree hashing and proofs, RFC 9162 §2.1 (the RFC 6962 tree): leaves
 * `SHA-256(0x00 ‖ data)`, interior nodes `SHA-256(0x01 ‖ left ‖ right)`, the
 * empty tree `SHA-256("")`. Pure and synchronous (node:crypto, which workerd
 * provides under nodejs_compat), tested against transparency-dev's vectors.
 *
 * Storage model: the log keeps every *complete, aligned* subtree hash, node
 * (level L, index i) covering leaves [i·2^L, (i+1)·2^L). Any subtree hash a
 * proof needs is built from O(log n) of them, so proofs are computed with a
 * `NodeSource` and `nodesNeeded` first lists which nodes to fetch in one read.
 * Indexes are plain numbers with arithmetic (not 32-bit bit operations), exact
 * up to 2^53 leaves.
 */
import { createHash } from 'node:crypto';
import { equalBytes } from '../../lib/bytes.ts';

export type Hash = Uint8Array;

const sha256 = (...parts: Uint8Array[]): Hash => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export const EMPTY_ROOT: Hash = sha256();
export const leafHash = (data: Uint8Array): Hash => sha256(LEAF_PREFIX, data);
export const nodeHash = (left: Hash, right: Hash): Hash => sha256(NODE_PREFIX, left, right);

/** Largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && Math.log2(n) % 1 === 0;
const odd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

export const equalHashes: (a: Hash, b: Hash) => boolean = equalBytes;

/** MTH over a whole list of leaf hashes (verifiers and tests). */
export function rootOf(leaves: readonly Hash[]): Hash {
  let frontier: Frontier = EMPTY_FRONTIER;
  for (const leaf of leaves) frontier = appendLeaf(frontier, leaf).frontier;
  return frontierRoot(frontier);
}

// ---------------------------------------------------------------------------
// The frontier: hashes of the complete subtrees along the right edge.

export interface Frontier {
  size: number;
  /** Complete subtree hashes, left to right, largest first (the binary decomposition of size). */
  hashes: Hash[];
}

export interface StoredNode {
  level: number;
  index: number;
  hash: Hash;
}

export const EMPTY_FRONTIER: Frontier = { size: 0, hashes: [] };

/** Appends one leaf hash; returns the new frontier and every subtree it completed (to store). */
export function appendLeaf(frontier: Frontier, leaf: Hash): { frontier: Frontier; completed: StoredNode[] } {
  const hashes = frontier.hashes.slice();
  const completed: StoredNode[] = [{ level: 0, index: frontier.size, hash: leaf }];
  let hash = leaf;
  let index = frontier.size;
  for (let level = 0; odd(index); level++) {
    hash = nodeHash(hashes.pop()!, hash);
    index = half(index);
    completed.push({ level: level + 1, index, hash });
  }
  hashes.push(hash);
  return { frontier: { size: frontier.size + 1, hashes }, completed };
}

/**
 * Appends many leaves in place (no copy per leaf), for verifiers that rebuild
 * a whole log; the log itself uses the immutable `appendLeaf`.
 */
export class FrontierBuilder {
  readonly hashes: Hash[] = [];
  size = 0;

  push(leaf: Hash): void {
    this.pushSubtree(leaf, 0);
  }

  /**
   * Appends 2^level leaves at once, given the hash of their complete subtree
   * (parallel verifiers hash aligned chunks on every core). The tree's size
   * must be a multiple of 2^level, so the subtree is aligned.
   */
  pushSubtree(subtree: Hash, level: number): void {
    const span = 2 ** level;
    if (this.size % span !== 0) throw new RangeError(`a level-${level} subtree cannot start at leaf ${this.size}`);
    let hash = subtree;
    for (let index = this.size / span; odd(index); index = half(index)) hash = nodeHash(this.hashes.pop()!, hash);
    this.hashes.push(hash);
    this.size += span;
  }

  root(): Hash {
    return frontierRoot(this);
  }

  copy(): FrontierBuilder {
    const copy = new FrontierBuilder();
    copy.hashes.push(...this.hashes);
    copy.size = this.size;
    return copy;
  }
}

export function frontierRoot(frontier: Frontier): Hash {
  if (frontier.size === 0) return EMPTY_ROOT;
  let root = frontier.hashes[frontier.hashes.length - 1]!;
  for (let i = frontier.hashes.length - 2; i >= 0; i--) root = nodeHash(frontier.hashes[i]!, root);
  return root;
}

// ---------------------------------------------------------------------------
// Proofs (RFC 9162 §2.1.3.1 and §2.1.4.1), over stored complete subtrees.

/** Hash of the complete aligned subtree (level, index); throws if the source lacks it. */
export type NodeSource = (level: number, index: number) => Hash;

/** MTH(D[a:b]) for a range whose complete parts are aligned (true of every range a proof asks for). */
function subtreeHash(a: number, b: number, nodes: NodeSource): Hash {
  const width = b - a;
  if (isPowerOfTwo(width) && a % width === 0) return nodes(Math.log2(width), a / width);
  const k = splitPoint(width);
  return nodeHash(subtreeHash(a, a + k, nodes), subtreeHash(a + k, b, nodes));
}

/** PATH(m, D[a:b]) of RFC 9162 §2.1.3.1, leaf m given as an absolute index. */
function path(m: number, a: number, b: number, nodes: NodeSource): Hash[] {
  if (b - a <= 1) return [];
  const k = splitPoint(b - a);
  return m < a + k ? [...path(m, a, a + k, nodes), subtreeHash(a + k, b, nodes)] : [...path(m, a + k, b, nodes), subtreeHash(a, a + k, nodes)];
}

/** SUBPROOF(m, D[a:b], complete) of RFC 9162 §2.1.4.1, m relative to a. */
function subproof(m: number, a: number, b: number, complete: boolean, nodes: NodeSource): Hash[] {
  if (m === b - a) return complete ? [] : [subtreeHash(a, b, nodes)];
  const k = splitPoint(b - a);
  return m <= k
    ? [...subproof(m, a, a + k, complete, nodes), subtreeHash(a + k, b, nodes)]
    : [...subproof(m - k, a + k, b, false, nodes), subtreeHash(a, a + k, nodes)];
}

export function inclusionProof(index: number, size: number, nodes: NodeSource): Hash[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  return path(index, 0, size, nodes);
}

export function consistencyProof(from: number, to: number, nodes: NodeSource): Hash[] {
  if (!(from >= 0 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  if (from === 0 || from === to) return [];
  return subproof(from, 0, to, true, nodes);
}

/** Runs `compute` against a recording source: the nodes it will need, without any hash. */
export function nodesNeeded(compute: (nodes: NodeSource) => unknown): { level: number; index: number }[] {
  const seen = new Map<string, { level: number; index: number }>();
  const dummy = new Uint8Array(32);
  compute((level, index) => {
    seen.set(`${level}:${index}`, { level, index });
    return dummy;
  });
  return [...seen.values()];
}

// ---------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2).

/**
 * The walk both verifications share: for each proof hash, whether it is the
 * left sibling of the running hash (`fn` odd, or on the right border `fn ===
 * sn`), shifting `fn` and `sn` right as the RFC's steps do. Null when the
 * proof is longer or shorter than the path from `fn` to the root of `sn + 1`.
 */
function proofSides(fn: number, sn: number, length: number): boolean[] | null {
  const sides: boolean[] = [];
  for (let i = 0; i < length; i++) {
    if (sn === 0) return null;
    const left = odd(fn) || fn === sn;
    sides.push(left);
    if (left) {
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? sides : null;
}

export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): boolean {
  if (!(index >= 0 && index < size)) return false;
  const sides = proofSides(index, size - 1, proof.length);
  if (!sides) return false;
  const r = proof.reduce((r, p, i) => (sides[i] ? nodeHash(p, r) : nodeHash(r, p)), leaf);
  return equalHashes(r, root);
}

export function verifyConsistency(from: number, to: number, proof: readonly Hash[], fromRoot: Hash, toRoot: Hash): boolean {
  if (!(from >= 0 && from <= to)) return false;
  if (from === to) return proof.length === 0 && equalHashes(fromRoot, toRoot);
  if (from === 0) return proof.length === 0 && equalHashes(fromRoot, EMPTY_ROOT);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  let fn = from - 1;
  let sn = to - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  const sides = proofSides(fn, sn, path.length - 1);
  if (!sides) return false;
  let fr = path[0]!;
  let sr = path[0]!;
  path.slice(1).forEach((c, i) => {
    if (sides[i]) fr = nodeHash(c, fr);
    sr = sides[i] ? nodeHash(c, sr) : nodeHash(sr, c);
  });
  return equalHashes(fr, fromRoot) && equalHashes(sr, toRoot);
}
