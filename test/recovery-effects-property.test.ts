/**
 * Undo against an oracle over random histories of every action kind
 * (fast-check, through the API): page writes and reads, labels, wrapped keys,
 * a disk's attachment, the VM's power, snapshots and restores, and the
 * attacker planting a toolstack of its own that then acts in its own session.
 *
 * The oracle is a forward model in log order (docs/design.md §6 and rule 4):
 * - tainted: the attacker's actions; a legitimate session from its first read
 *   of a tainted version on; everything the planted toolstack did; and, by
 *   rule 3, a restore's copies of tainted versions;
 * - after undo, each page holds what the last untainted event on it left (a
 *   write, a restore's copy of an untainted version, a restore's clear), and
 *   each object — label, key, disk, power state, the planted toolstack — what
 *   the last untainted action on it left (or its state before the history).
 * Removing any one rule makes some history fail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { call, expectStatus, newSigner } from './support/api';
import { readPages, session, writePages, type Session } from './support/sessions';
import { fakeEnvelope, newToolstack, tenantWithVm } from './support/tenant';

const PAGES = 3;
const SCOPES = ['vm:read', 'vm:control', 'memory:read', 'memory:write', 'disk:write', 'snapshot', 'keys', 'labels', 'toolstacks'];

type Kind = 'write' | 'read' | 'label' | 'key' | 'power' | 'attach' | 'snapshot' | 'restore' | 'plant';
interface Step {
  attacker: boolean;
  /** Act as the planted toolstack (once it exists and the step is the attacker's). */
  planted: boolean;
  session: number;
  kind: Kind;
  page: number;
}

const step = fc.record({
  attacker: fc.boolean(),
  planted: fc.boolean(),
  session: fc.nat(1),
  kind: fc.constantFrom<Kind>(
    'write',
    'write',
    'write',
    'read',
    'read',
    'label',
    'key',
    'power',
    'attach',
    'snapshot',
    'snapshot',
    'restore',
    'restore',
    'plant',
  ),
  page: fc.nat(PAGES - 1),
});

describe('undo of every action kind against an oracle (fast-check)', () => {
  it('leaves every page and object as the untainted actions alone left them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 16 }), async (steps) => {
        const { tenant, owner, vm } = await tenantWithVm();
        const t = `/v1/tenants/${tenant.id}`;
        const legit = await newToolstack(tenant.id, owner, SCOPES);
        const attacker = await newToolstack(tenant.id, owner, SCOPES);
        const disk = await expectStatus(call('POST', `${t}/disks`, { as: owner, body: { name: 'd', sizeGiB: 1 } }), 201);
        const sessions = new Map<string, Session>();
        let planted: { id: string; session: Session } | null = null;
        const sessionOf = (s: Step) => {
          if (s.attacker && s.planted && planted) return planted.session;
          const key = `${s.attacker}:${s.session}`;
          return sessions.get(key) ?? sessions.set(key, session(s.attacker ? attacker : legit, SCOPES)).get(key)!;
        };

        // The oracle's state, built as the history runs: per page its events, per object its changes.
        type PageEvent = { auditIndex: number; envelope: string | null; copyOf?: { page: number; version: number }; version: number };
        const pageEvents = new Map<number, PageEvent[]>();
        const versionEnvelope = new Map<string, string>();
        const objectChanges = new Map<string, { auditIndex: number; value: unknown }[]>();
        const initial = new Map<string, unknown>([
          ['disk', null],
          ['power', 'running'],
        ]);
        const change = (object: string, auditIndex: number, value: unknown) =>
          objectChanges.set(object, [...(objectChanges.get(object) ?? []), { auditIndex, value }]);
        const done: {
          step: Step;
          auditIndex: number;
          reads?: string[];
          writes?: string[];
          copies?: [string, string][];
          plants?: boolean;
          actor: string;
          session: string;
        }[] = [];
        const snapshots: { id: string; pages: Map<number, number> }[] = [];
        let power = 'running';
        let attached = false;

        for (const s of steps) {
          const who = sessionOf(s);
          const actor = who.signer.id;
          const token = () => who.token();
          const head = (page: number) => pageEvents.get(page)?.at(-1);
          const current = (page: number) => (head(page)?.envelope ? head(page)!.version : 0);
          const entry = (auditIndex: number, more: object = {}) => done.push({ step: s, auditIndex, actor, session: who.sid, ...more });
          const auditOf = (res: Response) => Number(/index=(\d+)/.exec(res.headers.get('Custodes-Audit') ?? '')?.[1]);
          if (s.kind === 'write') {
            const envelope = fakeEnvelope();
            const written = await writePages(who, tenant.id, vm.id, { [s.page]: envelope });
            const version = written.pages[0]!.version;
            versionEnvelope.set(`${s.page}@${version}`, envelope);
            pageEvents.set(s.page, [...(pageEvents.get(s.page) ?? []), { auditIndex: written.auditIndex, envelope, version }]);
            entry(written.auditIndex, { writes: [`${s.page}@${version}`] });
          } else if (s.kind === 'read') {
            const read = await readPages(who, tenant.id, vm.id, s.page, 1);
            const version = read.pages.get(s.page)?.version ?? 0;
            entry(read.auditIndex, { reads: version ? [`${s.page}@${version}`] : [] });
          } else if (s.kind === 'label') {
            const res = await call('PUT', `${t}/labels/l${s.session}`, { token: await token(), body: { space: 'memory', vm: vm.id, start: s.page, count: 1 } });
            expect([200, 201]).toContain(res.status);
            change(`label:l${s.session}`, auditOf(res), s.page);
            entry(auditOf(res));
          } else if (s.kind === 'key') {
            const res = await call('POST', `${t}/keys`, { token: await token(), body: { name: `k${done.length}`, wrapped: `wrapped.${done.length}` } });
            const key = await expectStatus(res, 201);
            initial.set(`key:${key.id}`, false);
            change(`key:${key.id}`, auditOf(res), true);
            entry(auditOf(res));
          } else if (s.kind === 'power') {
            const res = await call('POST', `${t}/vms/${vm.id}:${power === 'running' ? 'stop' : 'start'}`, { token: await token() });
            await expectStatus(res, 200);
            power = power === 'running' ? 'stopped' : 'running';
            change('power', auditOf(res), power);
            entry(auditOf(res));
          } else if (s.kind === 'attach') {
            const res = await call('POST', `${t}/disks/${disk.id}:${attached ? 'detach' : 'attach'}`, {
              token: await token(),
              ...(attached ? {} : { body: { vm: vm.id } }),
            });
            await expectStatus(res, 200);
            attached = !attached;
            change('disk', auditOf(res), attached ? vm.id : null);
            entry(auditOf(res));
          } else if (s.kind === 'snapshot') {
            const res = await call('POST', `${t}/snapshots`, { token: await token(), body: { vm: vm.id, name: `s${done.length}` } });
            const snap = await expectStatus(res, 201);
            snapshots.push({ id: snap.id, pages: new Map([...Array(PAGES).keys()].filter((p) => current(p) > 0).map((p) => [p, current(p)])) });
            entry(auditOf(res));
          } else if (s.kind === 'restore') {
            const snap = snapshots.at(-1);
            if (!snap) continue; // nothing to restore yet
            if (power === 'running') {
              // A restore needs the VM stopped: the same session stops it first.
              const stop = await call('POST', `${t}/vms/${vm.id}:stop`, { token: await token() });
              await expectStatus(stop, 200);
              power = 'stopped';
              change('power', auditOf(stop), power);
              entry(auditOf(stop));
            }
            const res = await call('POST', `${t}/snapshots/${snap.id}:restore`, { token: await token() });
            const restored = await expectStatus(res, 200);
            const copies: [string, string][] = [];
            for (let p = 0; p < PAGES; p++) {
              const copied = restored.pages.find((x: { index: number }) => x.index === p);
              if (copied) {
                const from = snap.pages.get(p)!;
                copies.push([`${p}@${from}`, `${p}@${copied.version}`]);
                versionEnvelope.set(`${p}@${copied.version}`, versionEnvelope.get(`${p}@${from}`)!);
                pageEvents.set(p, [
                  ...(pageEvents.get(p) ?? []),
                  {
                    auditIndex: restored.auditIndex,
                    envelope: versionEnvelope.get(`${p}@${from}`)!,
                    version: copied.version,
                    copyOf: { page: p, version: from },
                  },
                ]);
              } else if (current(p) > 0) {
                pageEvents.set(p, [...(pageEvents.get(p) ?? []), { auditIndex: restored.auditIndex, envelope: null, version: 0 }]);
              }
            }
            entry(restored.auditIndex, { copies, writes: copies.map(([, to]) => to) });
          } else if (s.kind === 'plant') {
            if (!s.attacker || planted) continue; // only the thief plants one toolstack
            const key = await newSigner('pending');
            const res = await call('POST', `${t}/toolstacks`, { token: await token(), body: { name: 'planted', publicKey: key.publicJwk, scopes: SCOPES } });
            const created = await expectStatus(res, 201);
            planted = { id: created.id, session: session({ ...key, id: created.id }, SCOPES) };
            initial.set('planted', 'absent');
            change('planted', auditOf(res), 'active');
            entry(auditOf(res), { plants: true });
          }
        }

        // The forward model.
        const taintedVersions = new Set<string>();
        const taintedSessions = new Set<string>();
        const tainted = new Set<number>();
        let plantedIsBad = false;
        for (const d of done) {
          if ((d.reads ?? []).some((v) => taintedVersions.has(v))) taintedSessions.add(d.session);
          const bad =
            (d.step.attacker && d.actor === attacker.id) || (planted !== null && d.actor === planted.id && plantedIsBad) || taintedSessions.has(d.session);
          // Rule 3: a copy of a tainted version is tainted, whoever copied it (the copying action is not).
          for (const [from, to] of d.copies ?? []) if (bad || taintedVersions.has(from)) taintedVersions.add(to);
          if (!bad) continue;
          tainted.add(d.auditIndex);
          for (const w of d.writes ?? []) taintedVersions.add(w);
          if (d.plants) plantedIsBad = true;
        }
        if (tainted.size === 0) return; // nothing to undo (refused: seeds_match_nothing, tested elsewhere)

        const plans = `${t}/recovery/plans`;
        const plan = await expectStatus(call('POST', plans, { as: owner, body: { mode: 'undo', seeds: { actors: [attacker.id] } } }), 201);
        expect(new Set(plan.taintedActions)).toEqual(tainted);
        await expectStatus(call('POST', `${plans}/${plan.id}:apply`, { as: owner }), 200);

        // Pages: what the last untainted event left.
        const now = (await readPages(session(owner), tenant.id, vm.id, 0, PAGES)).pages;
        for (let p = 0; p < PAGES; p++) {
          const stands = (e: PageEvent) => !tainted.has(e.auditIndex) && !(e.envelope !== null && taintedVersions.has(`${p}@${e.version}`));
          const last = (pageEvents.get(p) ?? []).filter(stands).at(-1);
          expect(now.get(p)?.envelope ?? null, `page ${p}`).toBe(last?.envelope ?? null);
        }
        // Objects: what the last untainted change left, else their state before the history.
        const expected = (object: string) =>
          (objectChanges.get(object) ?? []).filter((c) => !tainted.has(c.auditIndex)).at(-1)?.value ?? initial.get(object) ?? null;
        const labels = (await expectStatus(call('GET', `${t}/labels`, { as: owner }), 200)).labels as { name: string; start: number }[];
        for (const name of ['l0', 'l1']) {
          if (objectChanges.has(`label:${name}`)) expect(labels.find((l) => l.name === name)?.start ?? null, `label ${name}`).toBe(expected(`label:${name}`));
        }
        const keys = new Set(((await expectStatus(call('GET', `${t}/keys?pageSize=100`, { as: owner }), 200)).keys as { id: string }[]).map((k) => k.id));
        for (const object of objectChanges.keys()) if (object.startsWith('key:')) expect(keys.has(object.slice(4)), object).toBe(expected(object));
        expect((await expectStatus(call('GET', `${t}/disks/${disk.id}`, { as: owner }), 200)).vm, 'disk').toBe(expected('disk'));
        expect((await expectStatus(call('GET', `${t}/vms/${vm.id}`, { as: owner }), 200)).state, 'power').toBe(expected('power'));
        if (planted) {
          const state = (await expectStatus(call('GET', `${t}/toolstacks/${planted.id}`, { as: owner }), 200)).state;
          expect(state, 'planted toolstack').toBe(expected('planted') === 'absent' ? 'revoked' : 'active');
        }
      }),
      // Enough histories that restores clear pages the attack later writes, and the other way round.
      { numRuns: 60 },
    );
  }, 240_000);
});
