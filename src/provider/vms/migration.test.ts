import { describe, expect, it } from 'vitest';
import { call, createHost, createTenant, expectStatus, unique, approved } from '../../../test/support/api';

describe('migration and drain', () => {
  it('migrates only to an active host with room', async () => {
    const roomy = await createHost({ vcpus: 64, memoryMiB: 65536 });
    const tiny = await createHost({ vcpus: 2, memoryMiB: 2048 });
    const { tenant } = await createTenant();
    const vm = await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 4, memoryMiB: 4096 } }), 201);
    expect(vm.host).toBe(roomy.id);

    const tooSmall = await expectStatus(call('POST', `/v1/admin/vms/${vm.id}:migrate`, { body: { host: tiny.id } }), 409);
    expect(tooSmall).toMatchObject({ code: 'no_capacity' });
    expect(await expectStatus(call('POST', `/v1/admin/vms/${vm.id}:migrate`, { body: { host: roomy.id } }), 409)).toMatchObject({ code: 'invalid_state' });
    expect(await expectStatus(call('POST', `/v1/admin/vms/${vm.id}:migrate`, { body: { host: 'hst_00000000000000000000000000' } }), 404)).toMatchObject({
      code: 'not_found',
    });

    const third = await createHost({ vcpus: 8, memoryMiB: 8192 });
    const moved = await expectStatus(call('POST', `/v1/admin/vms/${vm.id}:migrate`, { body: { host: third.id } }), 200);
    expect(moved).toMatchObject({ from: roomy.id, to: third.id, vm: { host: third.id, revision: 2 } });
    expect((await expectStatus(call('GET', `/v1/admin/hosts/${third.id}`), 200)).allocated.vcpus).toBe(4);
    expect((await expectStatus(call('GET', `/v1/admin/hosts/${roomy.id}`), 200)).allocated.vcpus).toBe(0);

    // Without a target the scheduler picks the best other host.
    const auto = await expectStatus(call('POST', `/v1/admin/vms/${vm.id}:migrate`), 200);
    expect(auto.to).toBe(roomy.id);
  });

  it('drains a host, reporting VMs that fit nowhere', async () => {
    const source = await createHost({ vcpus: 32, memoryMiB: 32768 });
    const { tenant } = await createTenant();
    const mk = (vcpus: number) =>
      expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus, memoryMiB: 1024 } }), 201);
    // Fill `source` while it is the roomiest host.
    const vms = [await mk(16), await mk(2)];
    expect(vms.every((v) => v.host === source.id)).toBe(true);
    const refuge = await createHost({ vcpus: 4, memoryMiB: 4096 });

    // Tenant VMs on the host: a second admin approves the drain.
    const { result: report } = await approved(call('POST', `/v1/admin/hosts/${source.id}:drain`));
    expect(report.migrated).toEqual([{ vm: vms[1].id, tenant: tenant.id, from: source.id, to: refuge.id }]);
    expect(report.stranded).toHaveLength(1);
    expect(report.stranded[0].vm).toBe(vms[0].id);
    expect(await expectStatus(call('GET', `/v1/admin/hosts/${source.id}`), 200)).toMatchObject({ state: 'draining', allocated: { vms: 1 } });

    const bigger = await createHost({ vcpus: 32, memoryMiB: 32768 });
    const { result: again } = await approved(call('POST', `/v1/admin/hosts/${source.id}:drain`));
    expect(again.migrated).toEqual([{ vm: vms[0].id, tenant: tenant.id, from: source.id, to: bigger.id }]);
    expect(await expectStatus(call('GET', `/v1/admin/hosts/${source.id}`), 200)).toMatchObject({ state: 'drained', allocated: { vms: 0 } });
    await expectStatus(call('DELETE', `/v1/admin/hosts/${source.id}`), 204);
  });

  it('refuses to shrink or delete a host below its allocation', async () => {
    const host = await createHost({ vcpus: 128, memoryMiB: 131072 });
    const { tenant } = await createTenant({ vcpus: 200 });
    await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 100, memoryMiB: 1024 } }), 201);
    expect(await expectStatus(call('PATCH', `/v1/admin/hosts/${host.id}`, { body: { vcpus: 64 } }), 409)).toMatchObject({ code: 'capacity_conflict' });
    expect(await expectStatus(call('DELETE', `/v1/admin/hosts/${host.id}`), 409)).toMatchObject({ code: 'resource_in_use' });
    expect((await expectStatus(call('PATCH', `/v1/admin/hosts/${host.id}`, { body: { vcpus: 100 } }), 200)).vcpus).toBe(100);
  });
});
