/**
 * The taint closure (docs/design.md §6) over an in-memory flow index: worked cases for
 * each rule, and a property against a naive forward model over random
 * histories — the closure's round-based lookups must find exactly the actions
 * a replay in log order taints.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { taintClosure, versionKey, type FlowIndex, type VersionRef } from './taint';

interface Action {
  index: number;
  session: string | null;
  reads: VersionRef[];
  writes: VersionRef[];
  /** Server-side copies this action made: [source, copy]. */
  copies?: [VersionRef, VersionRef][];
  /** The principal acting, and the principals (toolstacks) this action created (rule 4). */
  actor?: string;
  creates?: string[];
}

const page = (index: number, version: number): VersionRef => ({ space: 'memory', resource: 'vm_1', index, version });

/** A FlowIndex over a list of actions, answering exactly what the D1 index would. */
function memoryIndex(history: Action[]): FlowIndex {
  const has = (set: readonly VersionRef[], v: VersionRef) => set.some((s) => versionKey(s) === versionKey(v));
  return {
    writesOf: async (actions) => history.filter((a) => actions.includes(a.index)).flatMap((a) => a.writes.map((w) => ({ ...w, auditIndex: a.index }))),
    readersOf: async (versions) => history.filter((a) => a.reads.some((r) => has(versions, r))).map((a) => ({ auditIndex: a.index, session: a.session })),
    copiesOf: async (versions) => history.flatMap((a) => (a.copies ?? []).filter(([from]) => has(versions, from)).map(([, to]) => to)),
    sessionActions: async (sessions) => history.filter((a) => sessions.some((s) => s.session === a.session && a.index >= s.from)).map((a) => a.index),
    principalsCreatedBy: async (actions) => history.filter((a) => actions.includes(a.index)).flatMap((a) => a.creates ?? []),
    principalActions: async (principals) => history.filter((a) => a.actor !== undefined && principals.includes(a.actor)).map((a) => a.index),
  };
}

const tainted = async (history: Action[], seeds: number[]) =>
  [...(await taintClosure(memoryIndex(history), { actions: seeds })).actions.keys()].sort((a, b) => a - b);

describe('taint closure', () => {
  it('taints a session from its first read of tainted data on, not before (rules 1 and 2)', async () => {
    const history: Action[] = [
      { index: 0, session: 'S', reads: [], writes: [page(5, 1)] },
      { index: 1, session: 'A', reads: [], writes: [page(0, 1)] }, // the attacker
      { index: 2, session: 'S', reads: [page(0, 1)], writes: [] },
      { index: 3, session: 'S', reads: [], writes: [page(1, 1)] },
      { index: 4, session: 'T', reads: [page(1, 1)], writes: [] },
      { index: 5, session: 'U', reads: [page(5, 1)], writes: [] },
    ];
    const taint = await taintClosure(memoryIndex(history), { actions: [1] });
    expect([...taint.actions]).toEqual([
      [1, 'seed'],
      [2, 'session'],
      [3, 'session'],
      [4, 'session'],
    ]);
    expect(Object.fromEntries(taint.sessions)).toEqual({ S: 2, T: 4 });
    expect([...taint.versions.keys()].sort()).toEqual([versionKey(page(0, 1)), versionKey(page(1, 1))]);
  });

  it('follows server-side copies of copies (rule 3)', async () => {
    const history: Action[] = [
      { index: 0, session: 'A', reads: [], writes: [page(0, 1)] },
      { index: 1, session: 'S', reads: [], writes: [], copies: [[page(0, 1), page(0, 2)]] },
      { index: 2, session: 'S', reads: [], writes: [], copies: [[page(0, 2), page(0, 3)]] },
      { index: 3, session: 'R', reads: [page(0, 3)], writes: [] },
    ];
    expect(await tainted(history, [0])).toEqual([0, 3]);
  });

  it('taints only the action itself when its token named no session', async () => {
    const history: Action[] = [
      { index: 0, session: 'A', reads: [], writes: [page(0, 1)] },
      { index: 1, session: null, reads: [page(0, 1)], writes: [page(2, 1)] },
      { index: 2, session: null, reads: [], writes: [page(3, 1)] },
      { index: 3, session: 'R', reads: [page(2, 1)], writes: [] },
    ];
    expect(await tainted(history, [0])).toEqual([0, 1, 3]);
  });

  it('taints everything a principal created by the attack did, whatever its session (rule 4)', async () => {
    const history: Action[] = [
      { index: 0, session: 'A', reads: [], writes: [], creates: ['tsk_persist'] }, // the attacker makes itself a toolstack
      { index: 1, session: 'L', reads: [], writes: [page(1, 1)], creates: ['tsk_legit'] },
      { index: 2, session: 'X', actor: 'tsk_persist', reads: [], writes: [page(0, 1)] },
      { index: 3, session: 'Y', actor: 'tsk_legit', reads: [], writes: [page(2, 1)] },
      { index: 4, session: 'Z', actor: 'tsk_persist', reads: [page(1, 1)], writes: [] },
    ];
    expect(await tainted(history, [0])).toEqual([0, 2, 4]);
  });

  it('equals a forward model in log order over random histories', async () => {
    const step = fc.record({
      session: fc.option(fc.constantFrom('A', 'B', 'C'), { nil: null }),
      page: fc.nat(3),
      write: fc.boolean(),
      // Some actions create a principal; some are done by one (once it exists).
      creates: fc.option(fc.constantFrom('P', 'Q'), { nil: undefined }),
      actor: fc.option(fc.constantFrom('P', 'Q'), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(29), { maxLength: 3 }), async (steps, seedPicks) => {
        const versions = new Map<number, number>();
        const made = new Set<string>();
        const history: Action[] = steps.map((s, index) => {
          const current = versions.get(s.page) ?? 0;
          if (s.write) versions.set(s.page, current + 1);
          const actor = s.actor !== undefined && made.has(s.actor) ? s.actor : undefined;
          const creates = s.creates !== undefined && !made.has(s.creates) ? [s.creates] : undefined;
          for (const p of creates ?? []) made.add(p);
          const who = { ...(actor ? { actor } : {}), ...(creates ? { creates } : {}) };
          return s.write
            ? { index, session: s.session, reads: [], writes: [page(s.page, current + 1)], ...who }
            : { index, session: s.session, reads: current ? [page(s.page, current)] : [], writes: [], ...who };
        });
        const seeds = [...new Set(seedPicks.filter((i) => i < history.length))];
        // The model: walk the log once, in order.
        const bad = new Set<string>();
        const badPrincipals = new Set<string>();
        const sessionFrom = new Map<string, number>();
        const expected: number[] = [];
        for (const a of history) {
          const readsBad = a.reads.some((r) => bad.has(versionKey(r)));
          if (readsBad && a.session !== null && !sessionFrom.has(a.session)) sessionFrom.set(a.session, a.index);
          const byBadPrincipal = a.actor !== undefined && badPrincipals.has(a.actor);
          if (seeds.includes(a.index) || readsBad || byBadPrincipal || (a.session !== null && sessionFrom.has(a.session))) {
            expected.push(a.index);
            for (const w of a.writes) bad.add(versionKey(w));
            for (const p of a.creates ?? []) badPrincipals.add(p);
          }
        }
        expect(await tainted(history, seeds)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
