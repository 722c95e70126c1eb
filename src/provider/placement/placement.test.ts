/** Placement and capacity. Each test starts from an empty database (test/support/apply-migrations.ts). */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, createHost, createTenant, expectStatus, unique, admin2, approved } from '../../../test/support/api';

const createVm = (tenant: string, vcpus: number, memoryMiB: number) =>
  call('POST', `/v1/admin/tenants/${tenant}/vms`, { body: { name: unique('vm'), vcpus, memoryMiB } });

describe('VM placement', () => {
  it('spreads VMs across hosts and never over-commits one', async () => {
    const big = await createHost({ vcpus: 16, memoryMiB: 32768 });
    const small = await createHost({ vcpus: 16, memoryMiB: 16384 });
    const { tenant } = await createTenant({ vcpus: 1000, memoryMiB: 1_000_000 });

    // Most free memory first: big (32768) then small (16384 < 32768-12288=20480? no: 20480 > 16384) → big again.
    const a = await expectStatus(createVm(tenant.id, 8, 12288), 201);
    expect(a.host).toBe(big.id);
    const b = await expectStatus(createVm(tenant.id, 4, 12288), 201);
    expect(b.host).toBe(big.id); // big has 20480 free > small's 16384
    const c = await expectStatus(createVm(tenant.id, 8, 12288), 201);
    expect(c.host).toBe(small.id); // big has 8192 left, too little
    // Now: big 4 vCPU / 8192 MiB free, small 8 vCPU / 4096 MiB free.
    const d = await expectStatus(createVm(tenant.id, 8, 4096), 201);
    expect(d.host).toBe(small.id); // big lacks vCPUs
    const none = await expectStatus(createVm(tenant.id, 5, 1024), 409);
    expect(none).toMatchObject({ code: 'no_capacity', requested: { vcpus: 5, memoryMiB: 1024 } });

    const hostsNow = await expectStatus(call('GET', `/v1/admin/hosts/${big.id}`), 200);
    expect(hostsNow.allocated).toEqual({ vcpus: 12, memoryMiB: 24576, vms: 2 });
    const smallNow = await expectStatus(call('GET', `/v1/admin/hosts/${small.id}`), 200);
    expect(smallNow.allocated).toEqual({ vcpus: 16, memoryMiB: 16384, vms: 2 });
    for (const host of [hostsNow, smallNow]) {
      expect(host.allocated.vcpus).toBeLessThanOrEqual(host.vcpus);
      expect(host.allocated.memoryMiB).toBeLessThanOrEqual(host.memoryMiB);
    }
  });

  it('keeps capacity under 24 concurrent creations', async () => {
    const host = await createHost({ vcpus: 40, memoryMiB: 40 * 1024 });
    const { tenant } = await createTenant({ vcpus: 1000, memoryMiB: 1_000_000 });
    const results = await Promise.all(Array.from({ length: 24 }, () => createVm(tenant.id, 4, 1024)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(14);
    const after = await expectStatus(call('GET', `/v1/admin/hosts/${host.id}`), 200);
    expect(after.allocated).toEqual({ vcpus: 40, memoryMiB: 10240, vms: 10 });
  });

  it('a migration with no other host says so, naming the host the VM is on', async () => {
    const only = await createHost({ vcpus: 64, memoryMiB: 65536 });
    const { tenant } = await createTenant();
    const vm = await expectStatus(createVm(tenant.id, 4, 8192), 201);
    expect(vm.host).toBe(only.id);
    // Every other host of this database is full or gone for this test: drain them out of the way.
    const others = (await expectStatus(call('GET', '/v1/admin/hosts?pageSize=100'), 200)).hosts.filter(
      (h: { id: string; state: string }) => h.id !== only.id && h.state === 'active',
    );
    for (const other of others) await call('PATCH', `/v1/admin/hosts/${other.id}`, { body: { state: 'draining' } });
    const refused = await expectStatus(call('POST', `/v1/admin/vms/${vm.id}:migrate`), 409);
    expect(refused).toMatchObject({ code: 'no_capacity' });
    expect(refused.detail).toContain(`No active host other than ${only.id} (where VM ${vm.id} runs)`);
  });

  it('does not place on draining hosts', async () => {
    const host = await createHost({ vcpus: 64, memoryMiB: 65536 });
    const { tenant } = await createTenant();
    await expectStatus(call('POST', `/v1/admin/hosts/${host.id}:drain`), 200);
    expect(await expectStatus(createVm(tenant.id, 32, 1024), 409)).toMatchObject({ code: 'no_capacity' });
    await expectStatus(call('PATCH', `/v1/admin/hosts/${host.id}`, { body: { state: 'active' } }), 200);
    expect((await expectStatus(createVm(tenant.id, 32, 1024), 201)).host).toBe(host.id);
  });
});

describe('quotas', () => {
  it('refuses VMs beyond the tenant slice and reports usage', async () => {
    await createHost({ vcpus: 64, memoryMiB: 65536 });
    const { tenant } = await createTenant({ vcpus: 4, memoryMiB: 4096 });
    await expectStatus(createVm(tenant.id, 2, 2048), 201);
    await expectStatus(createVm(tenant.id, 2, 1024), 201);
    const over = await expectStatus(createVm(tenant.id, 1, 128), 409);
    expect(over).toMatchObject({ code: 'quota_exceeded', quota: { vcpus: 4 }, usage: { vcpus: 4 }, requested: { vcpus: 1 } });
    const memOver = await expectStatus(createVm(tenant.id, 0 + 1, 2048), 409);
    expect(memOver.code).toBe('quota_exceeded');

    const view = await expectStatus(call('GET', `/v1/admin/tenants/${tenant.id}`), 200);
    expect(view.usage).toEqual({ vcpus: 4, memoryMiB: 3072, vms: 2, diskGiB: 0 });
  });

  it('refuses to cut a quota below usage, and a resize beyond it', async () => {
    await createHost({ vcpus: 64, memoryMiB: 65536 });
    const { tenant } = await createTenant({ vcpus: 8, memoryMiB: 8192 });
    const vm = await expectStatus(createVm(tenant.id, 4, 4096), 201);
    // Below its use: significant, so it waits for a second admin (who could approve it; here nobody does).
    const shrink = await expectStatus(call('PATCH', `/v1/admin/tenants/${tenant.id}`, { body: { quota: { vcpus: 2 } } }), 202);
    expect(shrink).toMatchObject({ operation: 'tenant.update', state: 'pending', params: { quota: { vcpus: 2 } } });
    const grow = await expectStatus(call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus: 9 } }), 409);
    expect(grow.code).toBe('quota_exceeded');
    const ok = await expectStatus(call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus: 8, memoryMiB: 8192 } }), 200);
    expect(ok).toMatchObject({ vcpus: 8, memoryMiB: 8192, revision: 2 });
    await expectStatus(call('PATCH', `/v1/admin/tenants/${tenant.id}`, { body: { quota: { vcpus: 8 } } }), 200);
  });

  it('refuses deleting a tenant that still has VMs', async () => {
    await createHost({ vcpus: 8, memoryMiB: 8192 });
    const { tenant } = await createTenant();
    // Proposed while empty, the deletion fails cleanly on approval once a VM has arrived meanwhile.
    const early = await expectStatus(call('DELETE', `/v1/admin/tenants/${tenant.id}`), 202);
    const vm = await expectStatus(createVm(tenant.id, 1, 512), 201);
    const failed = await expectStatus(call('POST', `/v1/admin/changes/${early.id}:approve`, { as: admin2 }), 409);
    expect(failed.code).toMatch(/^(change_failed|target_changed)$/);
    // A deletion that could only fail is refused when proposed: no change request waits for a second admin.
    const refused = await expectStatus(call('DELETE', `/v1/admin/tenants/${tenant.id}`), 409);
    expect(refused).toMatchObject({ code: 'resource_in_use', vms: 1 });
    await approved(call('DELETE', `/v1/admin/vms/${vm.id}`));
    await approved(call('DELETE', `/v1/admin/tenants/${tenant.id}`));
    await expectStatus(call('GET', `/v1/admin/tenants/${tenant.id}`), 404);
  });
});

describe('allocation counters', () => {
  it('equal the SUM over the VMs after creates, resizes, migrations and deletes, whoever writes', async () => {
    const hosts = [await createHost({ vcpus: 64, memoryMiB: 65536 }), await createHost({ vcpus: 64, memoryMiB: 65536 })];
    const tenants = [(await createTenant({ vcpus: 100, memoryMiB: 100_000 })).tenant, (await createTenant({ vcpus: 100, memoryMiB: 100_000 })).tenant];
    const made: { id: string; host: string }[] = [];
    for (let i = 0; i < 8; i++) made.push(await expectStatus(createVm(tenants[i % 2]!.id, 1 + (i % 3), 512 * (1 + (i % 4))), 201));
    await expectStatus(call('PATCH', `/v1/admin/vms/${made[0]!.id}`, { body: { vcpus: 5, memoryMiB: 4096 } }), 200);
    const moving = made[1]!;
    await expectStatus(call('POST', `/v1/admin/vms/${moving.id}:migrate`, { body: { host: hosts.find((h) => h.id !== moving.host)!.id } }), 200);
    // A VM removed by any writer at all (here plain SQL, as a repair would) is uncounted too.
    await env.DB.prepare('DELETE FROM vms WHERE id = ?').bind(made[2]!.id).run();
    const counters = (await env.DB.prepare('SELECT owner, vcpus, memory_mib FROM vm_allocations WHERE vcpus <> 0 OR memory_mib <> 0 ORDER BY owner').all())
      .results;
    const sums = (
      await env.DB.prepare(
        `SELECT 'host:' || host_id AS owner, sum(vcpus) AS vcpus, sum(memory_mib) AS memory_mib FROM vms GROUP BY host_id
         UNION ALL SELECT 'tenant:' || tenant_id, sum(vcpus), sum(memory_mib) FROM vms GROUP BY tenant_id ORDER BY owner`,
      ).all()
    ).results;
    expect(counters).toEqual(sums);
    expect(counters).toHaveLength(4);
    // And the API's view of a host agrees with them.
    for (const host of hosts) {
      const view = await expectStatus(call('GET', `/v1/admin/hosts/${host.id}`), 200);
      expect(counters.find((c) => c.owner === `host:${host.id}`)).toMatchObject({ vcpus: view.allocated.vcpus, memory_mib: view.allocated.memoryMiB });
    }
  });
});

describe('the cached placement view (provider/placement/placement-view.ts)', () => {
  it('never over-commits a host that filled behind its back, and never answers no_capacity from a stale view', async () => {
    const first = await createHost({ vcpus: 8, memoryMiB: 8192 });
    const { tenant } = await createTenant({ vcpus: 1000, memoryMiB: 1_000_000 });
    expect((await expectStatus(createVm(tenant.id, 1, 1024), 201)).host).toBe(first.id); // the view is now cached: first, 7 vCPUs free

    // Behind the API's back (another isolate, a repair): a second host appears…
    const late = 'hst_APPEAREDLATER000000000000';
    await env.DB.prepare("INSERT INTO hosts (id, name, vcpus, memory_mib, disk_gib) VALUES (?, 'late', 16, 16384, 100)").bind(late).run();
    // …and a demand only it can meet, asked while the view is the old one, is placed there, not refused.
    expect((await expectStatus(createVm(tenant.id, 12, 12288), 201)).host).toBe(late);

    // Then the first host fills behind the API's back. The view still says it has the most room; the guarded
    // insert refuses it, and the retry reads afresh and places the VM on the late host.
    await env.DB.prepare("INSERT INTO vms (id, tenant_id, host_id, name, vcpus, memory_mib) VALUES ('vm_BEHINDTHEBACK0000000000000', ?, ?, 'filler', 7, 7168)")
      .bind(tenant.id, first.id)
      .run();
    expect((await expectStatus(createVm(tenant.id, 2, 2048), 201)).host).toBe(late);
    const firstNow = await expectStatus(call('GET', `/v1/admin/hosts/${first.id}`), 200);
    expect(firstNow.allocated).toMatchObject({ vcpus: 8, memoryMiB: 8192 }); // full, not over
  });
});
