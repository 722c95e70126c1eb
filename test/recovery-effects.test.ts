/**
 * Undo reverses every effect of an intrusion, not only its page writes
 * (issue 15). A stolen toolstack key makes itself persistent — a toolstack of
 * its own, a wider ceiling for another, a wrapped key, a label moved onto
 * other pages, a disk attached, the VM stopped and an old snapshot restored —
 * and its new toolstack writes a page. Legitimate work goes on after. Undo
 * reverses all of it and keeps the legitimate work; revert puts every effect
 * back exactly; both logs verify offline.
 */
import { describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../src/sdk/audit-verify';
import { admin, auditSource, call, expectStatus, type Signer } from './support/api';
import { readPages, session, writePages, type Session } from './support/sessions';
import { fakeEnvelope, newToolstack, tenantWithVm } from './support/tenant';
import { newSigner } from './support/api';

const EVERYTHING = [
  'vm:read',
  'vm:control',
  'memory:read',
  'memory:write',
  'disk:read',
  'disk:write',
  'snapshot',
  'keys',
  'labels',
  'toolstacks',
  'recovery',
  'audit:read',
];

async function as<T = any>(s: Session, method: string, path: string, body?: unknown, status = 200): Promise<T> {
  return expectStatus(call(method, path, { token: await s.token(), ...(body !== undefined ? { body } : {}) }), status);
}

describe('undo of every kind of effect', () => {
  it("revokes the attacker's toolstack, restores ceilings, keys, labels, disks, power and pages, keeps legitimate work; revert restores it all exactly", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const t = `/v1/tenants/${tenant.id}`;
    const legit = session(await newToolstack(tenant.id, owner, EVERYTHING));
    const stolenKey = await newToolstack(tenant.id, owner, EVERYTHING);
    const reader = await newToolstack(tenant.id, owner, ['memory:read']);
    const ownerSession = session(owner, EVERYTHING);

    // Before the attack: pages 0–2, a label over pages 0–1, a detached disk, a snapshot of pages 0–1, a key.
    await writePages(legit, tenant.id, vm.id, { 0: fakeEnvelope(), 1: fakeEnvelope() });
    await as(legit, 'PUT', `${t}/labels/tls-key`, { space: 'memory', vm: vm.id, start: 0, count: 2 }, 201);
    const disk = await as(legit, 'POST', `${t}/disks`, { name: 'data', sizeGiB: 1 }, 201);
    const snapshot = await as(legit, 'POST', `${t}/snapshots`, { vm: vm.id, name: 'before' }, 201);
    await writePages(legit, tenant.id, vm.id, { 2: fakeEnvelope() });
    await as(legit, 'POST', `${t}/keys`, { name: 'data-key', wrapped: 'eyJhbGciOiJkaXIifQ..legit.wrapped.key' }, 201);
    const before = await state();

    // The attack, in the thief's session of the stolen toolstack.
    const thief = session(stolenKey, EVERYTHING);
    const persistKey: Signer = await newSigner('pending');
    const persist = await as(
      thief,
      'POST',
      `${t}/toolstacks`,
      { name: 'monitoring', publicKey: persistKey.publicJwk, scopes: ['memory:read', 'memory:write'] },
      201,
    );
    await as(thief, 'PATCH', `${t}/toolstacks/${reader.id}`, { scopes: ['memory:read', 'memory:write', 'keys'] });
    const stolenWrapped = await as(thief, 'POST', `${t}/keys`, { name: 'exfil', wrapped: 'eyJhbGciOiJkaXIifQ..attacker.wrapped.key' }, 201);
    await as(thief, 'PUT', `${t}/labels/tls-key`, { space: 'memory', vm: vm.id, start: 6, count: 2 });
    await as(thief, 'POST', `${t}/disks/${disk.id}:attach`, { vm: vm.id });
    await as(thief, 'POST', `${t}/vms/${vm.id}:stop`);
    await as(thief, 'POST', `${t}/snapshots/${snapshot.id}:restore`); // page 2 is cleared, pages 0–1 copied back
    // The persistence toolstack acts on its own, in a session the thief never used.
    const planted = session({ ...persistKey, id: persist.id }, ['memory:read', 'memory:write']);
    await writePages(planted, tenant.id, vm.id, { 3: fakeEnvelope() });

    // Legitimate work after the attack survives undo.
    await writePages(legit, tenant.id, vm.id, { 4: fakeEnvelope() });
    await as(legit, 'PUT', `${t}/labels/db-key`, { space: 'memory', vm: vm.id, start: 4, count: 1 }, 201);
    const attacked = await state();

    const plan = await as(ownerSession, 'POST', `${t}/recovery/plans`, { mode: 'undo', seeds: { tokens: [thief.sid] } }, 201);
    const kinds = plan.objectChanges.map((c: { kind: string }) => c.kind).sort();
    expect(kinds).toEqual(['disk', 'key', 'label', 'toolstack', 'toolstack', 'vm-power']);
    expect(plan.objectChanges.find((c: any) => c.object === `toolstack:["${persist.id}"]`)).toMatchObject({
      from: { state: 'active' },
      to: { state: 'revoked' },
    });
    expect(plan.irreversible).toEqual([]);
    // Rule 4: what the planted toolstack did is tainted though no seed names its session.
    const writeOf = (records: any[], page: number) => records.find((r) => r.action === 'vm.memory.write' && r.regions?.some((g: any) => g.index === page));
    const log = await records(owner, tenant.id);
    expect(plan.taintedActions).toContain(writeOf(log, 3).index);
    expect(plan.taintedActions).not.toContain(writeOf(log, 4).index);

    await as(ownerSession, 'POST', `${t}/recovery/plans/${plan.id}:apply`);
    const undone = await state();
    // Every effect reversed; the legitimate writes and label made after the attack are still there.
    expect(undone.toolstacks[persist.id]).toMatchObject({ state: 'revoked' });
    expect(undone.toolstacks[reader.id]).toEqual(before.toolstacks[reader.id]);
    expect(undone.keys).toEqual([...before.keys]);
    expect(undone.labels['tls-key']).toEqual(before.labels['tls-key']);
    expect(undone.labels['db-key']).toEqual(attacked.labels['db-key']);
    expect(undone.disk.vm).toBeNull();
    expect(undone.vmState).toBe('running');
    for (const page of [0, 1, 2]) expect(undone.pages[page], `page ${page}`).toEqual(before.pages[page]);
    expect(undone.pages[3]).toBeUndefined(); // the planted write: back to unwritten
    expect(undone.pages[4]).toEqual(attacked.pages[4]);
    expect(undone.keys).not.toContain(stolenWrapped.id);
    // The planted key no longer works.
    expect((await expectStatus(call('GET', `${t}/vms/${vm.id}/memory/pages?start=0&count=1`, { token: await planted.token() }), 401)).code).toBe(
      'token_key_unknown',
    );

    await as(ownerSession, 'POST', `${t}/recovery/plans/${plan.id}:revert`);
    expect(await state()).toEqual(attacked);

    // The apply and revert are no one's change to keep: planning the same undo again finds the same work.
    const again = await as(ownerSession, 'POST', `${t}/recovery/plans`, { mode: 'undo', seeds: { tokens: [thief.sid] } }, 201);
    const undated = (image: any) => image && { ...image, revoked_at: image.revoked_at && 'set' }; // a revocation is stamped when planned
    const objects = (p: any) => p.objectChanges.map((c: any) => [c.object, undated(c.from), undated(c.to)]);
    expect(objects(again)).toEqual(objects(plan));
    expect(again.changes.map((c: any) => c.index)).toEqual(plan.changes.map((c: any) => c.index));

    for (const [log, as] of [
      [`tenants/${tenant.id}`, owner],
      ['provider', admin],
    ] as const) {
      const result = await verifyAuditLog(auditSource(log, as), { log });
      expect(result.ok, result.ok ? '' : result.error).toBe(true);
    }

    /** Everything the attack could touch, as the owner reads it. */
    async function state() {
      const get = (path: string) => expectStatus(call('GET', `${t}${path}`, { as: owner }), 200);
      const toolstacks = Object.fromEntries(
        (await get('/toolstacks?pageSize=100')).toolstacks.map((x: any) => [x.id, { scopes: x.scopes, vms: x.vms, state: x.state }]),
      );
      const labels = Object.fromEntries((await get('/labels?pageSize=100')).labels.map((l: any) => [l.name, { start: l.start, count: l.count, vm: l.vm }]));
      // A session of its own for each look: the owner's recovery session never reads tainted data, so its apply and revert stay untainted.
      const pages = Object.fromEntries(
        [...(await readPages(session(owner, EVERYTHING), tenant.id, vm.id, 0, 8)).pages].map(([index, p]) => [index, p.envelope]),
      );
      return {
        toolstacks,
        keys: (await get('/keys?pageSize=100')).keys.map((k: any) => k.id).sort(),
        labels,
        disk: await get(`/disks/${disk.id}`).then((d: any) => ({ vm: d.vm })),
        vmState: (await get(`/vms/${vm.id}`)).state,
        pages,
      };
    }
  });
});

async function records(owner: Signer, tenant: string): Promise<any[]> {
  const page = await expectStatus(call('GET', `/v1/tenants/${tenant}/audit/records?from=0&limit=1000`, { as: owner }), 200);
  return page.records.map((r: { jws: string }) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString('utf8')));
}
