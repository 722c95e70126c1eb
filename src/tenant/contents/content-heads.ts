/**
 * What a tenant log's sequencer knows of its pages: for each page of a
 * loaded chunk, its head (the current version and its digest) and the
 * highest version ever written (a write's next number).
 *
 * Why: a content read's record must name each version and digest before it
 * is signed, and a write's versions must be numbered. Read from D1, that is a
 * round trip before the record's batch. But every change of a tenant's page
 * heads is an action in that tenant's log, described by its record's
 * `regions` (writes, restores, rollbacks), and the log's sequencer is the one
 * writer of that log: it can follow the heads without asking D1.
 *
 * The cache is a hint, never a source of truth: the batch that commits a
 * record built from it asserts, in the same transaction, that D1's heads are
 * the ones the record names (./content-statements.ts). A stale hint (a change
 * outside the log: a disk deleted, the emulator reset) aborts that batch; the
 * request then takes the slow path, which reads D1 first.
 */
import type { Region } from '../../audit/format/record';
import type { Space } from '../../lib/envelope-format';

/** Pages per loaded chunk. */
export const CHUNK_PAGES = 256;
/** Chunks kept per sequencer (least recently used go first): 1,048,576 pages. */
const MAX_CHUNKS = 4096;

export interface PageState {
  /** Current version; 0 = unwritten (never, or rolled back to unwritten). */
  head: number;
  digest: string | null;
  /** Highest version ever written (a new write is max + 1). */
  max: number;
}

/** A loaded chunk: every page of it that has a version ever written (absent = never written). */
type Chunk = Map<number, PageState>;

const UNWRITTEN: PageState = { head: 0, digest: null, max: 0 };

export const chunkKey = (space: Space, resource: string, chunk: number) => `${space}:${resource}:${chunk}`;

/** The chunk a page index falls in. */
export const chunkOf = (index: number): number => Math.floor(index / CHUNK_PAGES);

/** The chunks `[start, start + count)` covers. */
export function chunksOf(start: number, count: number): number[] {
  const first = chunkOf(start);
  const last = chunkOf(start + Math.max(count, 1) - 1);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** A row of the chunk-loading query (./content-statements.ts `chunkQuery`). */
export interface LoadedPage {
  idx: number;
  head: number | null;
  digest: string | null;
  max: number;
}

export class ContentHeads {
  readonly #chunks = new Map<string, Chunk>();

  /** Whether the chunk is held; if so it becomes the most recently used, so loading others cannot evict it. */
  touch(space: Space, resource: string, chunk: number): boolean {
    const key = chunkKey(space, resource, chunk);
    const pages = this.#chunks.get(key);
    if (!pages) return false;
    this.#chunks.delete(key);
    this.#chunks.set(key, pages);
    return true;
  }

  /** Stores a chunk as D1 holds it. */
  load(space: Space, resource: string, chunk: number, rows: LoadedPage[]): void {
    const pages: Chunk = new Map(rows.map((r) => [r.idx, { head: r.head ?? 0, digest: r.head ? r.digest : null, max: r.max }]));
    const key = chunkKey(space, resource, chunk);
    this.#chunks.delete(key);
    if (this.#chunks.size >= MAX_CHUNKS) this.#chunks.delete(this.#chunks.keys().next().value!);
    this.#chunks.set(key, pages);
  }

  /** Forgets every chunk of a resource (its hint proved stale). */
  forget(space: Space, resource: string): void {
    const prefix = `${space}:${resource}:`;
    for (const key of [...this.#chunks.keys()]) if (key.startsWith(prefix)) this.#chunks.delete(key);
  }

  clear(): void {
    this.#chunks.clear();
  }

  /** A view whose changes stay private until `commit`: the entries of one batch, in order. */
  draft(): HeadsDraft {
    return new HeadsDraft(this.#chunks);
  }
}

/**
 * The heads as the entries of one batch see them: each sees the ones before
 * it (a write then a read of the same page in one group), and the cache
 * takes the changes only once the batch committed.
 */
export class HeadsDraft {
  readonly #changes = new Map<string, Map<number, PageState>>();

  constructor(private readonly chunks: Map<string, Chunk>) {}

  /** The page's state, or undefined when its chunk is not loaded. */
  get(space: Space, resource: string, index: number): PageState | undefined {
    const key = chunkKey(space, resource, chunkOf(index));
    const changed = this.#changes.get(key)?.get(index);
    if (changed) return changed;
    const chunk = this.chunks.get(key);
    return chunk ? (chunk.get(index) ?? UNWRITTEN) : undefined;
  }

  /** Follows a committed record's regions: writes and rollbacks move heads; reads change nothing. */
  apply(regions: readonly Region[]): void {
    for (const r of regions) {
      if (r.access === 'read') continue;
      const before = this.get(r.space, r.resource, r.index);
      if (!before) continue; // not loaded: nothing to follow
      const key = chunkKey(r.space, r.resource, chunkOf(r.index));
      // A rollback names its version's digest; were one missing, reads of the page take the slow path until the chunk is reloaded.
      const after: PageState = {
        head: r.version,
        digest: r.version === 0 ? null : r.digest,
        max: r.access === 'write' ? Math.max(before.max, r.version) : before.max,
      };
      let changes = this.#changes.get(key);
      if (!changes) {
        changes = new Map();
        this.#changes.set(key, changes);
      }
      changes.set(r.index, after);
    }
  }

  /** Makes this batch's changes the cache's. */
  commit(): void {
    for (const [key, changes] of this.#changes) {
      const chunk = this.chunks.get(key);
      if (!chunk) continue; // evicted meanwhile
      for (const [index, state] of changes) chunk.set(index, state);
    }
    this.#changes.clear();
  }
}
