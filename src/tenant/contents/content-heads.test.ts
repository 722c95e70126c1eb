/**
 * The sequencer's page heads and the operations resolved from them: a
 * record's regions move heads (writes also the highest version, rollbacks
 * not), a batch's changes stay private until it commits, and a read names
 * exactly the written pages of its range with their digests.
 */
import { describe, expect, it } from 'vitest';
import type { Region } from '../../audit/format/record';
import { CHUNK_PAGES, ContentHeads } from './content-heads';
import { resolveContentOp } from './content-statements';

const region = (index: number, version: number, access: Region['access'], digest: string | null = `sha256:${index}-${version}`): Region => ({
  space: 'memory',
  resource: 'vm_1',
  index,
  version,
  digest: version === 0 ? null : digest,
  access,
});
const address = { space: 'memory' as const, id: 'vm_1', tenant: 'ten_1' };

describe('ContentHeads', () => {
  it("follows writes and rollbacks, and keeps a batch's changes private until it commits", () => {
    const cache = new ContentHeads();
    cache.load('memory', 'vm_1', 0, [{ idx: 1, head: 2, digest: 'sha256:1-2', max: 3 }]);
    const draft = cache.draft();
    expect(draft.get('memory', 'vm_1', 1)).toEqual({ head: 2, digest: 'sha256:1-2', max: 3 });
    expect(draft.get('memory', 'vm_1', 0)).toEqual({ head: 0, digest: null, max: 0 }); // never written
    expect(draft.get('memory', 'vm_1', CHUNK_PAGES)).toBeUndefined(); // another chunk: not loaded
    draft.apply([region(1, 4, 'write'), region(0, 1, 'write'), region(5, 9, 'read')]);
    expect(draft.get('memory', 'vm_1', 1)).toEqual({ head: 4, digest: 'sha256:1-4', max: 4 });
    expect(draft.get('memory', 'vm_1', 5)).toEqual({ head: 0, digest: null, max: 0 }); // a read moves nothing
    expect(cache.draft().get('memory', 'vm_1', 1)!.head).toBe(2); // not committed yet
    draft.commit();
    const after = cache.draft();
    expect(after.get('memory', 'vm_1', 1)!.head).toBe(4);
    // A rollback moves the head back and keeps the highest version; to 0 it is unwritten.
    after.apply([region(1, 2, 'rollback'), region(0, 0, 'rollback')]);
    expect(after.get('memory', 'vm_1', 1)).toEqual({ head: 2, digest: 'sha256:1-2', max: 4 });
    expect(after.get('memory', 'vm_1', 0)).toEqual({ head: 0, digest: null, max: 1 });
    // Regions of chunks not loaded are not followed; forgetting a resource drops its chunks.
    after.apply([region(CHUNK_PAGES + 1, 7, 'write')]);
    expect(after.get('memory', 'vm_1', CHUNK_PAGES + 1)).toBeUndefined();
    cache.forget('memory', 'vm_1');
    expect(cache.touch('memory', 'vm_1', 0)).toBe(false);
  });

  it("numbers a write past the highest version and names a read's written pages with their digests", () => {
    const cache = new ContentHeads();
    cache.load('memory', 'vm_1', 0, [
      { idx: 0, head: 1, digest: 'sha256:0-1', max: 3 }, // rolled back to 1; 3 exists
      { idx: 2, head: null, digest: null, max: 2 }, // rolled back to unwritten
    ]);
    const draft = cache.draft();
    const write = resolveContentOp(
      {
        op: 'write',
        ...address,
        pages: [
          { index: 0, digest: 'sha256:new', envelopeHex: '01' },
          { index: 2, digest: 'sha256:two', envelopeHex: '01' },
        ],
      },
      draft,
    )!;
    expect(write.regions.map((r) => [r.index, r.version])).toEqual([
      [0, 4],
      [2, 3],
    ]);
    draft.apply(write.regions);
    const read = resolveContentOp({ op: 'read', ...address, start: 0, count: 4 }, draft)!;
    expect(read.regions).toEqual([
      { space: 'memory', resource: 'vm_1', index: 0, version: 4, digest: 'sha256:new', access: 'read' },
      { space: 'memory', resource: 'vm_1', index: 2, version: 3, digest: 'sha256:two', access: 'read' },
    ]);
    // The batch asserts what the record names: the resource reaches the range, and exactly these heads;
    // then it reads the records that wrote the versions, and the pages.
    expect(read.statements.map((s) => s.params[0])).toEqual(['memory resource', 'memory heads', 'memory head versions', 'memory', 'memory']);
    expect(read.statements.at(-2)!.sql).toMatch(/FROM content_heads h\s+JOIN content_flows f/);
    expect(resolveContentOp({ op: 'read', ...address, start: CHUNK_PAGES - 1, count: 2 }, draft)).toBeUndefined(); // reaches an unloaded chunk
  });

  it('keeps the chunks a group needs when loading others evicts the least recently used', () => {
    const cache = new ContentHeads();
    for (let chunk = 0; chunk < 4096; chunk++) cache.load('disk', 'dsk_1', chunk, []);
    expect(cache.touch('disk', 'dsk_1', 0)).toBe(true); // chunk 0 is needed again: now the most recent
    cache.load('disk', 'dsk_1', 5000, []);
    expect(cache.touch('disk', 'dsk_1', 0)).toBe(true);
    expect(cache.touch('disk', 'dsk_1', 1)).toBe(false); // the least recently used went
  });
});
