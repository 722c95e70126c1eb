/**
 * The VM-reach rule (auth/vm-reach.ts, issue 11 finding 1): a toolstack
 * limited to vm0 reaches nothing of its sibling vm1 — not by path, body,
 * query, nor indirectly through a disk's attachment, a snapshot, a label, a
 * recovery plan, the exposure report or the audit records.
 *
 * First the findings one by one, then a walk over every tenant operation of
 * the OpenAPI document with every reference pointing at vm1's side: each
 * answer is a refusal or names nothing of vm1's, and vm1's state is the same
 * afterwards.
 */
import { describe, expect, it } from 'vitest';
import { TENANT_SCOPES } from '../../src/auth/roles';
import { call, expectStatus, mintToken, unique } from '../support/api';
import { tenantOperations } from '../support/operations';
import { fakeEnvelope, newToolstack, tenantWithVm } from '../support/tenant';

/** A tenant with two VMs, each with pages, an attached disk with blocks, a snapshot, a label and a plan; a toolstack limited to vm0. */
async function siblings() {
  const { tenant, owner, vm: vm0 } = await tenantWithVm();
  const vm1 = await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: 'sibling', vcpus: 1, memoryMiB: 128 } }), 201);
  const t = `/v1/tenants/${tenant.id}`;
  const side = async (vm: string, tag: string) => {
    const write = await expectStatus(call('PUT', `${t}/vms/${vm}/memory/pages`, { as: owner, body: { pages: [{ index: 0, envelope: fakeEnvelope() }] } }), 200);
    const disk = await expectStatus(call('POST', `${t}/disks`, { as: owner, body: { name: `disk-${tag}`, sizeGiB: 1 } }), 201);
    await expectStatus(call('POST', `${t}/disks/${disk.id}:attach`, { as: owner, body: { vm } }), 200);
    await expectStatus(call('PUT', `${t}/disks/${disk.id}/blocks`, { as: owner, body: { pages: [{ index: 0, envelope: fakeEnvelope() }] } }), 200);
    const snapshot = await expectStatus(call('POST', `${t}/snapshots`, { as: owner, body: { vm, name: `snap-${tag}` } }), 201);
    const label = `label-${tag}`;
    await expectStatus(call('PUT', `${t}/labels/${label}`, { as: owner, body: { space: 'memory', vm, start: 0, count: 1 } }), 201);
    const plan = await expectStatus(call('POST', `${t}/recovery/plans`, { as: owner, body: { mode: 'undo', seeds: { actions: [write.auditIndex] } } }), 201);
    return { vm, disk: disk.id as string, snapshot: snapshot.id as string, label, plan: plan.id as string, write: write.auditIndex as number };
  };
  const a = await side(vm0.id, 'zero');
  const b = await side(vm1.id, 'one');
  const free = await expectStatus(call('POST', `${t}/disks`, { as: owner, body: { name: 'disk-free', sizeGiB: 1 } }), 201);
  const limited = await newToolstack(tenant.id, owner, [...TENANT_SCOPES], [vm0.id]);
  // vm0's toolstack reads vm0's label, so the exposure report has a read on each side once vm1's is read too.
  await expectStatus(call('GET', `${t}/vms/${vm1.id}/memory/pages?start=0&count=1`, { as: owner }), 200);
  const as = async () => mintToken(limited, { claims: { scope: TENANT_SCOPES.join(' ') } });
  return { tenant, owner, t, inReach: a, outside: b, free: free.id as string, as };
}

type World = Awaited<ReturnType<typeof siblings>>;

/** What an owner sees of vm1's side: compared before and after the walk. */
async function stateOf(w: World) {
  const { t, owner, outside: o } = w;
  const read = async (path: string) =>
    JSON.stringify(await expectStatus(call('GET', `${t}${path}`, { as: owner }), 200), (k, v) => (k === 'updatedAt' || k === 'evidence' ? undefined : v)); // a read's evidence names the read itself
  return [
    await read(`/vms/${o.vm}`),
    await read(`/vms/${o.vm}/memory/pages?start=0&count=4`),
    await read(`/disks/${o.disk}`),
    await read(`/disks/${o.disk}/blocks?start=0&count=4`),
    await read(`/snapshots/${o.snapshot}`),
    await read(`/labels/${o.label}`),
    await read(`/recovery/plans/${o.plan}`),
  ];
}

describe('a toolstack limited to vm0 (finding 1, each as found)', () => {
  it('cannot plan or apply an undo whose seed is a write to vm1', async () => {
    const w = await siblings();
    const res = await call('POST', `${w.t}/recovery/plans`, { token: await w.as(), body: { mode: 'undo', seeds: { actions: [w.outside.write] } } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('vm_not_allowed');
    const apply = await call('POST', `${w.t}/recovery/plans/${w.outside.plan}:apply`, { token: await w.as() });
    expect(apply.status).toBe(403);
    // Its own VM's plan is fine.
    const own = await expectStatus(
      call('POST', `${w.t}/recovery/plans`, { token: await w.as(), body: { mode: 'undo', seeds: { actions: [w.inReach.write] } } }),
      201,
    );
    expect(own.changes.every((c: { target: string }) => c.target === w.inReach.vm)).toBe(true);
  });

  it("cannot attach a disk to vm1, nor move vm1's disk, nor claim an unattached one", async () => {
    const w = await siblings();
    for (const [disk, vm] of [
      [w.inReach.disk, w.outside.vm],
      [w.outside.disk, w.inReach.vm],
      [w.free, w.inReach.vm],
      [w.free, w.outside.vm],
    ] as const) {
      const res = await call('POST', `${w.t}/disks/${disk}:attach`, { token: await w.as(), body: { vm } });
      expect(res.status, `${disk} → ${vm}`).toBe(403);
    }
  });

  it("cannot label vm1's memory or disk, nor overwrite vm1's label", async () => {
    const w = await siblings();
    for (const [name, body] of [
      [unique('l'), { space: 'memory', vm: w.outside.vm, start: 0, count: 1 }],
      [unique('l'), { space: 'disk', disk: w.outside.disk, start: 0, count: 1 }],
      [w.outside.label, { space: 'memory', vm: w.inReach.vm, start: 0, count: 1 }],
    ] as const) {
      const res = await call('PUT', `${w.t}/labels/${name}`, { token: await w.as(), body });
      expect(res.status, JSON.stringify(body)).toBe(403);
    }
  });

  it("sees neither vm1's snapshots nor the reads of vm1 in the exposure report", async () => {
    const w = await siblings();
    expect((await call('GET', `${w.t}/snapshots?vm=${w.outside.vm}`, { token: await w.as() })).status).toBe(403);
    expect((await call('GET', `${w.t}/snapshots/${w.outside.snapshot}`, { token: await w.as() })).status).toBe(403);
    const list = await expectStatus(call('GET', `${w.t}/snapshots`, { token: await w.as() }), 200);
    expect(list.snapshots.map((s: { id: string }) => s.id)).toEqual([w.inReach.snapshot]);
    const exposure = await expectStatus(call('GET', `${w.t}/exposure`, { token: await w.as() }), 200);
    expect(exposure.labels.map((l: { name: string }) => l.name)).toEqual([w.inReach.label]);
    // The owner sees both.
    const full = await expectStatus(call('GET', `${w.t}/exposure`, { as: w.owner }), 200);
    expect(full.labels.map((l: { name: string }) => l.name).sort()).toEqual([w.outside.label, w.inReach.label].sort());
  });
});

/** A body for each tenant operation that takes one, pointing at vm1's side wherever it can name something. */
function bodiesFor(operationId: string, w: World): unknown[] {
  const o = w.outside;
  const pages = { pages: [{ index: 0, envelope: fakeEnvelope() }] };
  const table: Record<string, unknown[]> = {
    createToolstack: [{ name: unique('t'), publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'a'.repeat(43) }, scopes: ['vm:read'], vms: [o.vm] }],
    createTenantVm: [{ name: unique('vm'), vcpus: 1, memoryMiB: 128 }],
    writeMemoryPages: [pages],
    writeDiskBlocks: [pages],
    createDisk: [{ name: unique('d'), sizeGiB: 1 }],
    attachDisk: [{ vm: o.vm }, { vm: w.inReach.vm }],
    createSnapshot: [{ vm: o.vm, name: unique('s') }],
    storeWrappedKey: [{ name: unique('k'), wrapped: 'eyJ.wrapped' }],
    putLabel: [
      { space: 'memory', vm: o.vm, start: 0, count: 1 },
      { space: 'disk', disk: o.disk, start: 0, count: 1 },
      { space: 'memory', vm: w.inReach.vm, start: 0, count: 1 },
    ],
    createRecoveryPlan: [
      { mode: 'undo', seeds: { actions: [o.write] } },
      { mode: 'undo', seeds: { actors: [w.owner.id] } },
      { mode: 'replay', patch: { revoke: [{ principal: w.owner.id, from: '2000-01-01T00:00:00Z' }] } },
    ],
  };
  return table[operationId] ?? [undefined];
}

describe('the VM-ceiling walk over every tenant operation', () => {
  it('reaches nothing of vm1 on any route, in any way', async () => {
    const w = await siblings();
    const before = await stateOf(w);
    const o = w.outside;
    const params: Record<string, string> = {
      tenant: w.tenant.id,
      vm: o.vm,
      disk: o.disk,
      snapshot: o.snapshot,
      name: o.label,
      plan: o.plan,
      key: 'key_00000000000000000000000000',
      toolstack: 'tsk_00000000000000000000000000',
      request: 'acc_00000000000000000000000000',
      index: '0',
      version: '1',
    };
    const queries: Record<string, string> = {
      readMemoryPages: 'start=0&count=1',
      readDiskBlocks: 'start=0&count=1',
      listSnapshots: `vm=${o.vm}`,
      getTenantAuditInclusionProof: 'index=0&size=1',
      getTenantAuditConsistencyProof: 'from=1&to=2',
    };
    const secrets = [o.vm, o.disk, o.snapshot, o.label, o.plan];
    const reached: string[] = [];
    let requests = 0;
    for (const { path, method, operationId } of tenantOperations) {
      for (const body of bodiesFor(operationId, w)) {
        const url = path.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!) + (queries[operationId] ? `?${queries[operationId]}` : '');
        const res = await call(method.toUpperCase(), url, { token: await w.as(), body });
        const text = await res.text();
        requests++;
        if (res.status === 403 || res.status === 404) continue;
        const leaked = secrets.filter((s) => text.includes(s));
        if (res.status >= 500 || leaked.length > 0)
          reached.push(`${method.toUpperCase()} ${path} ${JSON.stringify(body)} → ${res.status} names ${leaked.join(', ')}: ${text.slice(0, 160)}`);
      }
    }
    expect(reached).toEqual([]);
    expect(requests).toBeGreaterThan(tenantOperations.length);
    expect(await stateOf(w)).toEqual(before);
  });

  it('leaves the owner and a toolstack without a VM limit unaffected', async () => {
    const w = await siblings();
    const wide = await newToolstack(w.tenant.id, w.owner, ['disk:read', 'snapshot', 'labels', 'audit:read']);
    const token = () => mintToken(wide, { claims: { scope: 'disk:read snapshot labels audit:read' } });
    expect((await expectStatus(call('GET', `${w.t}/disks`, { token: await token() }), 200)).disks).toHaveLength(3);
    expect((await expectStatus(call('GET', `${w.t}/snapshots/${w.outside.snapshot}`, { token: await token() }), 200)).vm).toBe(w.outside.vm);
    expect((await expectStatus(call('GET', `${w.t}/labels`, { token: await token() }), 200)).labels).toHaveLength(2);
    await expectStatus(call('GET', `${w.t}/audit/records?from=0&limit=1`, { token: await token() }), 200);
    // The limited toolstack may not read the records (they cover every VM), but may check the log.
    expect((await call('GET', `${w.t}/audit/records?from=0&limit=1`, { token: await w.as() })).status).toBe(403);
    expect((await call('GET', `${w.t}/audit/checkpoint`, { token: await w.as() })).status).toBe(200);
  });
});
