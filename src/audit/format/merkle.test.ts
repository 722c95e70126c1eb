/**
 * RFC 9162 Merkle tree against the published vectors (test/vectors, a copy of ../shared/vectors
 * from transparency-dev/merkle), including every corruption under mustReject.
 */
import { describe, expect, it } from 'vitest';
// A copy of ../shared/vectors/rfc6962.json (transparency-dev/merkle), kept in the repo so a clone tests alone.
import vectors from './vectors/rfc6962.json';
import {
  appendLeaf,
  consistencyProof,
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  FrontierBuilder,
  frontierRoot,
  inclusionProof,
  leafHash,
  nodesNeeded,
  rootOf,
  verifyConsistency,
  verifyInclusion,
  type Frontier,
  type Hash,
  type StoredNode,
} from './merkle';

const hex = (h: Hash) => [...h].map((b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (s: string): Hash => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const leaves = vectors.leaves.map((l) => leafHash(unhex(l)));
const rootAt = (size: number) => unhex(vectors.roots.find((r) => r.size === size)!.root);

/** A node store built the way the audit log builds it: by appending leaves. */
function buildTree(leafHashes: Hash[]) {
  let frontier: Frontier = EMPTY_FRONTIER;
  const store = new Map<string, Hash>();
  for (const leaf of leafHashes) {
    const step = appendLeaf(frontier, leaf);
    frontier = step.frontier;
    for (const n of step.completed as StoredNode[]) store.set(`${n.level}:${n.index}`, n.hash);
  }
  const source = (level: number, index: number) => {
    const h = store.get(`${level}:${index}`);
    if (!h) throw new Error(`missing node ${level}:${index}`);
    return h;
  };
  return { frontier, source, store };
}

function flipBit(h: Hash): Hash {
  const c = h.slice();
  c[0]! ^= 1;
  return c;
}

function proofCorruptions(proof: Hash[]): Hash[][] {
  const out: Hash[][] = [];
  for (let i = 0; i < proof.length; i++) {
    out.push(proof.filter((_, j) => j !== i)); // element removed
    out.push(proof.map((p, j) => (j === i ? flipBit(p) : p))); // bit flipped
  }
  out.push([...proof, new Uint8Array(32)]); // element added
  out.push([new Uint8Array(32), ...proof]);
  return out;
}

describe('RFC 9162 Merkle tree (transparency-dev vectors)', () => {
  it('computes every published root', () => {
    for (const { size, root } of vectors.roots) {
      expect(hex(rootOf(leaves.slice(0, size))), `size ${size}`).toBe(root);
      expect(hex(frontierRoot(buildTree(leaves.slice(0, size)).frontier)), `frontier ${size}`).toBe(root);
    }
  });

  it('produces and verifies every published inclusion proof', () => {
    for (const { index, size, proof } of vectors.inclusion) {
      const { source } = buildTree(leaves.slice(0, size));
      expect(inclusionProof(index, size, source).map(hex), `${index}@${size}`).toEqual(proof);
      expect(verifyInclusion(leaves[index]!, index, size, proof.map(unhex), rootAt(size))).toBe(true);
    }
  });

  it('produces and verifies every published consistency proof', () => {
    for (const { from, to, proof } of vectors.consistency) {
      const { source } = buildTree(leaves.slice(0, to));
      expect(consistencyProof(from, to, source).map(hex), `${from}→${to}`).toEqual(proof);
      expect(verifyConsistency(from, to, proof.map(unhex), rootAt(from), rootAt(to))).toBe(true);
    }
  });

  it('rejects every mustReject corruption of the inclusion proofs', () => {
    for (const { index, size, proof: p } of vectors.inclusion) {
      const proof = p.map(unhex);
      const root = rootAt(size);
      const leaf = leaves[index]!;
      const reject = (l: Hash, i: number, s: number, pr: Hash[], r: Hash, what: string) =>
        expect(verifyInclusion(l, i, s, pr, r), `${what} ${index}@${size}`).toBe(false);
      reject(leaf, index + 1, size, proof, root, 'index+1');
      if (index > 0) reject(leaf, index - 1, size, proof, root, 'index-1');
      reject(leaf, index, size * 2, proof, root, 'size*2');
      reject(leaf, index, Math.floor(size / 2), proof, root, 'size/2');
      reject(flipBit(leaf), index, size, proof, root, 'wrong leaf');
      reject(leaf, index, size, proof, flipBit(root), 'wrong root');
      for (const bad of proofCorruptions(proof)) reject(leaf, index, size, bad, root, 'proof edit');
    }
  });

  // mustReject for consistency: from ±1 ("index"), to ×2 and ÷2 ("size"), wrong roots,
  // edited proofs, swapped roots, from > to.
  it('rejects every mustReject corruption of the consistency proofs', () => {
    for (const { from, to, proof: p } of vectors.consistency) {
      const proof = p.map(unhex);
      const [r1, r2] = [rootAt(from), rootAt(to)];
      const reject = (f: number, t: number, pr: Hash[], a: Hash, b: Hash, what: string) =>
        expect(verifyConsistency(f, t, pr, a, b), `${what} ${from}→${to}`).toBe(false);
      reject(from + 1, to, proof, r1, r2, 'from+1');
      reject(from - 1, to, proof, r1, r2, 'from-1');
      reject(from, to * 2, proof, r1, r2, 'to*2');
      reject(from, Math.floor(to / 2), proof, r1, r2, 'to/2');
      reject(from, to, proof, flipBit(r1), r2, 'wrong old root');
      reject(from, to, proof, r1, flipBit(r2), 'wrong new root');
      reject(from, to, proof, r2, r1, 'swapped roots');
      reject(to, from, proof, r1, r2, 'from > to');
      for (const bad of proofCorruptions(proof)) reject(from, to, bad, r1, r2, 'proof edit');
    }
  });

  it('refuses a subtree that would not be aligned', () => {
    const builder = new FrontierBuilder();
    builder.push(leafHash(new Uint8Array()));
    expect(() => builder.pushSubtree(EMPTY_ROOT, 1)).toThrow(RangeError);
  });

  it('agrees with itself on larger trees, fetching O(log n) nodes per proof', () => {
    const many = Array.from({ length: 1000 }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
    for (const size of [1, 2, 3, 7, 64, 65, 513, 1000]) {
      const { source, frontier } = buildTree(many.slice(0, size));
      const root = rootOf(many.slice(0, size));
      expect(hex(frontierRoot(frontier))).toBe(hex(root));
      const builder = new FrontierBuilder();
      for (const leaf of many.slice(0, size)) builder.push(leaf);
      expect(hex(builder.root())).toBe(hex(root));
      // Aligned 8-leaf subtrees first, then the remaining leaves one by one: the same root.
      const chunked = new FrontierBuilder();
      for (let start = 0; start + 8 <= size; start += 8) chunked.pushSubtree(rootOf(many.slice(start, start + 8)), 3);
      for (const leaf of many.slice(chunked.size, size)) chunked.push(leaf);
      expect(hex(chunked.root())).toBe(hex(root));
      for (const index of [0, Math.floor(size / 3), size - 1]) {
        const proof = inclusionProof(index, size, source);
        expect(verifyInclusion(many[index]!, index, size, proof, root)).toBe(true);
        expect(nodesNeeded((s) => inclusionProof(index, size, s)).length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size + 1)));
      }
      for (const from of [1, Math.floor(size / 2), size - 1].filter((f) => f > 0)) {
        const proof = consistencyProof(from, size, source);
        expect(verifyConsistency(from, size, proof, rootOf(many.slice(0, from)), root), `${from}→${size}`).toBe(true);
      }
    }
  });
});
