/**
 * `GET /v1/admin/databases` (issue 35): each D1 database's size against D1's
 * 10 GB limit and what it holds, for the admins who read metadata, recorded
 * in the provider log like every admin read.
 */
import { describe, expect, it } from 'vitest';
import { call, createHost, createTenant, expectStatus, recordIn, unique } from './support/api';

interface Listed {
  databases: { binding: string; holds: string[]; tenants: number; vms: number; sizeBytes: number; used: number }[];
  limitBytes: number;
}

const list = () => expectStatus<Listed>(call('GET', '/v1/admin/databases'), 200);

describe('the provider database, against its limit', () => {
  it("counts the tenants and VMs it holds and reports D1's own size, which grows as rows are written", async () => {
    const before = await list();
    expect(before.limitBytes).toBe(10 * 1000 ** 3);
    expect(before.databases.map((d) => [d.binding, d.holds])).toEqual([['DB', ['provider', 'tenants']]]);
    const [db] = before.databases;
    expect(db!.sizeBytes).toBeGreaterThan(0);
    expect(db!.used).toBeCloseTo(db!.sizeBytes / before.limitBytes, 12);

    await createHost({ vcpus: 64, memoryMiB: 65536 });
    for (let i = 0; i < 3; i++) {
      const { tenant } = await createTenant();
      await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 1, memoryMiB: 512 } }), 201);
    }
    const after = (await list()).databases[0]!;
    expect(after.tenants - db!.tenants).toBe(3);
    expect(after.vms - db!.vms).toBe(3);
    // Each create's record and rows take pages: D1's reported size follows.
    expect(after.sizeBytes).toBeGreaterThan(db!.sizeBytes);
  });

  it('is an audited admin read: recorded in the provider log, refused to a tenant', async () => {
    const res = await call('GET', '/v1/admin/databases');
    expect(res.status).toBe(200);
    expect((await recordIn('provider', res)).record).toMatchObject({ action: 'database.list', outcome: 'allowed' });
    const { owner } = await createTenant();
    const refused = await call('GET', '/v1/admin/databases', { as: owner });
    expect(refused.status).toBe(403);
  });
});
