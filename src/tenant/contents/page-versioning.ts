/**
 * Page versioning, one module for both paths (issue 33): a read names the
 * versions it serves, a write numbers its new ones, always by
 * `resolveContentOp` (./content-statements.ts) over page heads.
 *
 *  - Fast path: the heads a tenant log's sequencer follows (./content-heads.ts
 *    says why that is safe), as one of its extensions (audit/log/extensions.ts).
 *    Before a group, the chunks its reads and writes need are loaded in one D1
 *    round trip; each entry is drafted in order; every allowed record's
 *    regions move the heads once the batch committed. A lone content
 *    operation refused by its guards means the heads were stale: they are
 *    read again next time.
 *  - Fallback (contents.service.ts, when the fast batch was refused): the same
 *    resolution over heads read from D1 just now (`resolveFromStore`).
 */
import type { LogExtension, SequencerHost } from '../../audit/log/extensions';
import { chunkKey, ContentHeads, type HeadsDraft, type LoadedPage } from './content-heads';
import { chunkQuery, chunksNeeded, resolveContentOp, type ContentOp, type ResolvedContentOp } from './content-statements';

/** Reads from D1, in one round trip, the chunks `ops` need that `heads` does not hold. */
async function loadChunks(db: D1Database, heads: ContentHeads, ops: readonly (ContentOp | undefined)[]): Promise<void> {
  const missing = new Map<string, { space: ContentOp['space']; id: string; chunk: number }>();
  for (const op of ops) {
    if (!op) continue;
    for (const chunk of chunksNeeded(op)) {
      if (!heads.touch(op.space, op.id, chunk)) missing.set(chunkKey(op.space, op.id, chunk), { space: op.space, id: op.id, chunk });
    }
  }
  if (missing.size === 0) return;
  const wanted = [...missing.values()];
  const results = await db.batch<LoadedPage>(
    wanted.map(({ space, id, chunk }) => {
      const q = chunkQuery(space, id, chunk);
      return db.prepare(q.sql).bind(...q.params);
    }),
  );
  for (const [i, { space, id, chunk }] of wanted.entries()) heads.load(space, id, chunk, results[i]!.results);
}

/** The fallback: `op` resolved over the heads D1 holds now (the batch that commits it asserts them, as on the fast path). */
export async function resolveFromStore(db: D1Database, op: ContentOp): Promise<ResolvedContentOp> {
  const heads = new ContentHeads();
  await loadChunks(db, heads, [op]);
  const resolved = resolveContentOp(op, heads.draft());
  if (!resolved) throw new Error(`content heads of ${op.id} not loaded`);
  return resolved;
}

/** The fast path: the heads one tenant log's sequencer follows. */
export function pageHeads(host: SequencerHost): LogExtension {
  const heads = new ContentHeads();
  let draft: HeadsDraft | null = null;

  return {
    async prepare(entries) {
      draft = heads.draft(); // a new group (or a retry of one member) starts from the committed heads
      await loadChunks(
        host.env.DB,
        heads,
        entries.map((entry) => entry.contents),
      );
    },
    draft(entry) {
      if (entry.draft.outcome !== 'allowed' || !draft) return undefined;
      const op = entry.contents ? resolveContentOp(entry.contents, draft) : undefined;
      if (entry.contents && !op) throw new Error(`content heads of ${entry.contents.id} not loaded`);
      // Every allowed record's regions move the heads: writes, restores, rollbacks — content operation or not.
      draft.apply(op?.regions ?? entry.draft.regions ?? []);
      return op ? { regions: op.regions, writes: op.statements } : undefined;
    },
    committed() {
      draft?.commit();
      draft = null;
    },
    rejected({ contents }) {
      if (contents) heads.forget(contents.space, contents.id);
    },
    reset() {
      heads.clear();
      draft = null;
    },
  };
}
