/**
 * Recovery against an oracle, over random histories (fast-check), through
 * the API: legitimate sessions and an attacker's sessions write and read four
 * pages of one VM in a random order.
 *
 * - The tainted actions are exactly those of a naive forward model of docs/design.md
 *   §6 (attacker actions; a legitimate session from its first read of a
 *   tainted version on).
 * - After undo, every page equals what a fresh run of the history without
 *   the tainted actions leaves (its last untainted write, or unwritten).
 * - Where no legitimate session read attacker data, replay with the attacker
 *   revoked from the start plans exactly the changes undo plans.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { call, expectStatus } from './support/api';
import { readPages, session, writePages, type Session } from './support/sessions';
import { fakeEnvelope, newToolstack, tenantWithVm } from './support/tenant';

const PAGES = 4;

interface Step {
  attacker: boolean;
  session: number;
  kind: 'write' | 'read';
  page: number;
}

const step = fc.record({ attacker: fc.boolean(), session: fc.nat(2), kind: fc.constantFrom('write' as const, 'read' as const), page: fc.nat(PAGES - 1) });

/** What happened, as the test saw it: each action's record index, and what it wrote or read. */
interface Done extends Step {
  auditIndex: number;
  /** write: the envelope and version written; read: the version read (0 = unwritten). */
  envelope?: string;
  version: number;
}

/** docs/design.md §6 by brute force, in one forward pass: taint only flows forward in time. */
function modelTaint(history: Done[]): { tainted: Set<number>; legitReadAttackerData: boolean } {
  const taintedVersions = new Set<string>();
  const taintedSessions = new Set<string>();
  const tainted = new Set<number>();
  let legitReadAttackerData = false;
  for (const h of history) {
    const sessionKey = `${h.attacker}:${h.session}`;
    const versionKey = `${h.page}@${h.version}`;
    if (h.kind === 'read' && h.version > 0 && taintedVersions.has(versionKey)) {
      taintedSessions.add(sessionKey);
      if (!h.attacker) legitReadAttackerData = true;
    }
    if (h.attacker || taintedSessions.has(sessionKey)) {
      tainted.add(h.auditIndex);
      if (h.kind === 'write') taintedVersions.add(versionKey);
    }
  }
  // An attacker's read of unwritten data changes nothing, and is no action on contents: still an attacker action.
  return { tainted, legitReadAttackerData };
}

describe('recovery against an oracle (fast-check)', () => {
  it("undo taints exactly the model's actions and leaves every page as a run without them would; replay agrees where it should", async () => {
    let replayCompared = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const { tenant, owner, vm } = await tenantWithVm();
        const legit = await newToolstack(tenant.id, owner, ['memory:read', 'memory:write']);
        const attacker = await newToolstack(tenant.id, owner, ['memory:read', 'memory:write']);
        const sessions = new Map<string, Session>();
        const sessionOf = (s: Step) =>
          sessions.get(`${s.attacker}:${s.session}`) ??
          sessions.set(`${s.attacker}:${s.session}`, session(s.attacker ? attacker : legit)).get(`${s.attacker}:${s.session}`)!;

        const history: Done[] = [];
        for (const s of steps) {
          if (s.kind === 'write') {
            const envelope = fakeEnvelope();
            const written = await writePages(sessionOf(s), tenant.id, vm.id, { [s.page]: envelope });
            history.push({ ...s, auditIndex: written.auditIndex, envelope, version: written.pages[0]!.version });
          } else {
            const read = await readPages(sessionOf(s), tenant.id, vm.id, s.page, 1);
            history.push({ ...s, auditIndex: read.auditIndex, version: read.pages.get(s.page)?.version ?? 0 });
          }
        }
        // Reads of unwritten pages touch no content; the model and the plan both still count attacker actions.
        const model = modelTaint(history);
        const plans = `/v1/tenants/${tenant.id}/recovery/plans`;
        if (model.tainted.size === 0) {
          // The attacker did nothing: seeds naming no action are refused, and nothing changes.
          expect((await expectStatus(call('POST', plans, { as: owner, body: { mode: 'undo', seeds: { actors: [attacker.id] } } }), 422)).code).toBe(
            'seeds_match_nothing',
          );
          return;
        }
        const undo = await expectStatus(call('POST', plans, { as: owner, body: { mode: 'undo', seeds: { actors: [attacker.id] } } }), 201);
        expect(new Set(undo.taintedActions)).toEqual(model.tainted);

        if (!model.legitReadAttackerData) {
          const replay = await expectStatus(
            call('POST', plans, { as: owner, body: { mode: 'replay', patch: { revoke: [{ principal: attacker.id, from: '2000-01-01T00:00:00Z' }] } } }),
            201,
          );
          expect(replay.changes).toEqual(undo.changes);
          expect(replay.conflicts).toEqual([]);
          replayCompared++;
        }

        await expectStatus(call('POST', `${plans}/${undo.id}:apply`, { as: owner }), 200);
        const now = (await readPages(session(owner), tenant.id, vm.id, 0, PAGES)).pages;
        for (let page = 0; page < PAGES; page++) {
          const lastClean = history.filter((h) => h.kind === 'write' && h.page === page && !model.tainted.has(h.auditIndex)).at(-1);
          expect(now.get(page)?.envelope, `page ${page}`).toBe(lastClean?.envelope);
        }
      }),
      { numRuns: 25 },
    );
    expect(replayCompared).toBeGreaterThan(0);
  }, 120_000);
});
