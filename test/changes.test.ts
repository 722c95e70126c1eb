/**
 * Checks and balances (issue 6, docs/design.md §7): admins, the two-person rule for
 * significant operations, tenant-approved provider access, and the role ×
 * route walk. Each acceptance item has its test here.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../src/sdk/audit-verify';
import { openApiDocument } from '../src/app';
import {
  admin,
  admin2,
  app,
  approved,
  auditSource,
  call,
  createHost,
  createTenant,
  expectStatus,
  placeOf,
  registeredAdmin,
  tenantWithVm,
  unique,
} from './support/api';
import { fakeEnvelope } from './support/tenant';

const ROLES = ['provisioner', 'operator', 'auditor', 'security'] as const;

const decode = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString());
async function recordsAbout(log: string, id: string): Promise<any[]> {
  const { results } = await env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? ORDER BY idx').bind(log).all<{ jws: string }>();
  return results.map((r) => decode(r.jws)).filter((r) => r.target?.id === id || r.details?.change === id || r.details?.accessRequest === id);
}
const vmExists = async (id: string) => (await call('GET', `/v1/admin/vms/${id}`)).status === 200;

describe('change requests', () => {
  it('rejects self-approval and approval by an admin without the role; the request stays pending', async () => {
    const { vm } = await tenantWithVm();
    const change = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`), 202);
    expect(change).toMatchObject({
      operation: 'vm.delete',
      state: 'pending',
      approvals: [],
      proposer: admin.id,
      requiredRole: 'provisioner',
      target: { type: 'vm', id: vm.id },
    });
    expect((await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: admin }), 403)).code).toBe('self_approval');
    const auditor = await registeredAdmin(['auditor']);
    expect((await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: auditor }), 403)).code).toBe('missing_role');
    expect((await expectStatus(call('GET', `/v1/admin/changes/${change.id}`), 200)).state).toBe('pending');
    expect(await vmExists(vm.id)).toBe(true);
  });

  it('executes once: a second approval is refused, and concurrent approvals let exactly one through', async () => {
    const { vm } = await tenantWithVm();
    const first = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`), 202);
    const done = await expectStatus(call('POST', `/v1/admin/changes/${first.id}:approve`, { as: admin2 }), 200);
    expect(done.change).toMatchObject({ state: 'executed', approvals: [{ admin: admin2.id, at: expect.any(String) }] });
    expect(await vmExists(vm.id)).toBe(false);
    expect((await expectStatus(call('POST', `/v1/admin/changes/${first.id}:approve`, { as: admin2 }), 409)).code).toBe('invalid_state');

    const { vm: other } = await tenantWithVm();
    const provisioner = await registeredAdmin(['provisioner']);
    const second = await expectStatus(call('DELETE', `/v1/admin/vms/${other.id}`), 202);
    const approvers = [admin2, provisioner, admin2, provisioner, admin2, provisioner];
    const results = await Promise.all(approvers.map((as) => call('POST', `/v1/admin/changes/${second.id}:approve`, { as })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
    const executed = (await recordsAbout('provider', second.id)).filter((r) => r.details?.state === 'executed');
    expect(executed).toHaveLength(1);
  });

  it('never executes a cancelled, denied or expired request', async () => {
    const { vm } = await tenantWithVm();
    const cancelled = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`), 202);
    expect((await expectStatus(call('POST', `/v1/admin/changes/${cancelled.id}:cancel`, { as: admin2 }), 403)).code).toBe('not_proposer');
    expect(await expectStatus(call('POST', `/v1/admin/changes/${cancelled.id}:cancel`), 200)).toMatchObject({ state: 'cancelled', decidedBy: admin.id });
    expect((await expectStatus(call('POST', `/v1/admin/changes/${cancelled.id}:approve`, { as: admin2 }), 409)).code).toBe('invalid_state');

    const denied = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`), 202);
    expect(await expectStatus(call('POST', `/v1/admin/changes/${denied.id}:deny`, { as: admin2 }), 200)).toMatchObject({
      state: 'denied',
      decidedBy: admin2.id,
    });
    expect((await expectStatus(call('POST', `/v1/admin/changes/${denied.id}:approve`, { as: admin2 }), 409)).code).toBe('invalid_state');

    const expiring = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`), 202);
    expect(Date.parse(expiring.expiresAt) - Date.parse(expiring.createdAt)).toBeGreaterThan(71.9 * 3_600_000); // the 72 h default
    // Time passes: the deadline is moved into the past, as 72 hours would.
    await env.DB.prepare("UPDATE change_requests SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?").bind(expiring.id).run();
    expect((await expectStatus(call('GET', `/v1/admin/changes?state=expired`), 200)).changes.map((c: { id: string }) => c.id)).toContain(expiring.id);
    expect((await expectStatus(call('POST', `/v1/admin/changes/${expiring.id}:approve`, { as: admin2 }), 409)).code).toBe('change_expired');
    expect((await expectStatus(call('GET', `/v1/admin/changes/${expiring.id}`), 200)).state).toBe('expired');
    expect(await vmExists(vm.id)).toBe(true);
  });

  it('fails cleanly when the target changed after the proposal', async () => {
    const { vm } = await tenantWithVm();
    const change = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`), 202);
    await expectStatus(call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus: 2 } }), 200); // revision moves
    const failed = await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: admin2 }), 409);
    expect(failed.code).toBe('change_failed');
    expect(await expectStatus(call('GET', `/v1/admin/changes/${change.id}`), 200)).toMatchObject({ state: 'failed', failure: { code: 'target_changed' } });
    expect(await vmExists(vm.id)).toBe(true);
  });

  it("runs a change only on stored parameters that parse as its operation's: an edited row fails the change, changing nothing", async () => {
    const { tenant } = await tenantWithVm();
    await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 1, memoryMiB: 128 } }), 201);
    const shrink = await expectStatus(call('PATCH', `/v1/admin/tenants/${tenant.id}`, { body: { quota: { vcpus: 1 } } }), 202);
    // The store edited under the pending change: a quota that is no number.
    await env.DB.prepare('UPDATE change_requests SET params = ? WHERE id = ?')
      .bind(JSON.stringify({ quota: { vcpus: 'all of them' } }), shrink.id)
      .run();
    const failed = await expectStatus(call('POST', `/v1/admin/changes/${shrink.id}:approve`, { as: admin2 }), 409);
    expect(failed.code).toBe('change_failed');
    expect(failed.detail).toMatch(/stored parameters are not a tenant\.update's/);
    expect((await expectStatus(call('GET', `/v1/admin/tenants/${tenant.id}`), 200)).quota.vcpus).toBe(tenant.quota.vcpus);
  });

  it("puts every step in the provider log and the tenant's, and both logs verify offline", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 1, memoryMiB: 128 } }), 201);
    const shrink = await expectStatus(call('PATCH', `/v1/admin/tenants/${tenant.id}`, { body: { quota: { vcpus: 1 } } }), 202); // it uses 2
    expect(shrink.tenants).toEqual([tenant.id]);
    await expectStatus(call('POST', `/v1/admin/changes/${shrink.id}:approve`, { as: admin2 }), 200);
    expect((await expectStatus(call('GET', `/v1/admin/tenants/${tenant.id}`), 200)).quota.vcpus).toBe(1); // below its use, approved
    const del = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`), 202);
    await expectStatus(call('POST', `/v1/admin/changes/${del.id}:deny`, { as: admin2 }), 200);

    for (const log of ['provider', `tenants/${tenant.id}`]) {
      expect(
        (await recordsAbout(log, shrink.id)).map((r) => [r.action, r.details.state]),
        log,
      ).toEqual([
        ['tenant.update', 'pending'],
        ['change.approve', 'executed'],
      ]);
      expect(
        (await recordsAbout(log, del.id)).map((r) => [r.action, r.details.state]),
        log,
      ).toEqual([
        ['vm.delete', 'pending'],
        ['change.deny', 'denied'],
      ]);
    }
    // The tenant reads them in its own log, with its own key, and verifies it.
    const tenantRecords = (await expectStatus(call('GET', `/v1/tenants/${tenant.id}/audit/records?from=0&limit=100`, { as: owner }), 200)).records.map(
      (r: { jws: string }) => decode(r.jws),
    );
    expect(tenantRecords.filter((r: any) => r.action.startsWith('change.') || r.target?.type === 'change').length).toBeGreaterThanOrEqual(4);
    expect((await verifyAuditLog(auditSource(`tenants/${tenant.id}`, owner), { log: `tenants/${tenant.id}` })).ok).toBe(true);
    expect((await verifyAuditLog(auditSource('provider', admin), { log: 'provider' })).ok).toBe(true);
  });

  it('drains a host with tenant VMs only on approval by an operator; an empty host drains at once', async () => {
    const host = await createHost({ vcpus: 64, memoryMiB: 65536 });
    await createHost({ vcpus: 64, memoryMiB: 65536 });
    const { tenant } = await createTenant();
    const vm = await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 64, memoryMiB: 1024 } }), 201);
    const drain = await expectStatus(call('POST', `/v1/admin/hosts/${vm.host}:drain`), 202);
    expect(drain).toMatchObject({ operation: 'host.drain', requiredRole: 'operator', tenants: [tenant.id] });
    const provisioner = await registeredAdmin(['provisioner']);
    expect((await expectStatus(call('POST', `/v1/admin/changes/${drain.id}:approve`, { as: provisioner }), 403)).code).toBe('missing_role');
    const operator = await registeredAdmin(['operator']);
    const { result } = await expectStatus(call('POST', `/v1/admin/changes/${drain.id}:approve`, { as: operator }), 200);
    expect(result.migrated).toEqual([expect.objectContaining({ vm: vm.id, tenant: tenant.id })]);
    expect((await expectStatus(call('POST', `/v1/admin/hosts/${vm.host}:drain`), 200)).host.state).toBe('drained');
    void host;
  });
});

describe('admins', () => {
  it('registers, changes roles and disables admins; role changes and disabling take effect on the next request', async () => {
    const ops = await registeredAdmin(['operator']);
    const listed = await expectStatus(call('GET', '/v1/admin/admins?pageSize=100'), 200);
    // The bootstrap keys first, retired: two enrolled admins hold security.
    expect(listed.admins.slice(0, 2).map((a: { id: string; bootstrap: boolean; state: string }) => [a.id, a.bootstrap, a.state])).toEqual([
      ['adm_bootstrap', true, 'retired'],
      ['adm_bootstrap2', true, 'retired'],
    ]);
    expect(await expectStatus(call('GET', `/v1/admin/admins/${ops.id}`), 200)).toMatchObject({
      roles: ['operator'],
      state: 'active',
      bootstrap: false,
      kid: ops.kid,
    });
    expect(
      (await expectStatus(call('POST', '/v1/admin/hosts', { as: ops, body: { name: unique('h'), vcpus: 1, memoryMiB: 1024, diskGiB: 1 } }), 403)).code,
    ).toBe('missing_role');

    await approved(call('PATCH', `/v1/admin/admins/${ops.id}`, { body: { roles: ['operator', 'provisioner'] } }));
    await expectStatus(call('POST', '/v1/admin/hosts', { as: ops, body: { name: unique('h'), vcpus: 1, memoryMiB: 1024, diskGiB: 1 } }), 201);

    // Registering the same key twice, or changing a bootstrap admin, is refused up front.
    expect(
      (await expectStatus(call('POST', '/v1/admin/admins', { body: { name: unique('dup'), publicKey: ops.publicJwk, roles: ['auditor'] } }), 409)).code,
    ).toBe('resource_in_use');
    expect((await expectStatus(call('PATCH', '/v1/admin/admins/adm_bootstrap2', { body: { roles: ['auditor'] } }), 409)).code).toBe('invalid_state');
    expect((await expectStatus(call('POST', '/v1/admin/admins/adm_bootstrap2:disable'), 409)).code).toBe('invalid_state');

    expect(await expectStatus(call('POST', `/v1/admin/admins/${ops.id}:disable`), 200)).toMatchObject({ state: 'revoked' });
    expect((await expectStatus(call('GET', '/v1/admin/hosts', { as: ops }), 401)).code).toBe('token_key_unknown');
  });

  it('walks every admin route with every role: no role reaches a route it does not hold', async () => {
    const byRole = Object.fromEntries(await Promise.all(ROLES.map(async (role) => [role, await registeredAdmin([role])] as const)));
    const document = openApiDocument(app) as any;
    const operations = Object.entries(document.paths)
      .flatMap(([path, item]: [string, any]) =>
        Object.entries(item).map(([method, op]: [string, any]) => ({
          path,
          method: method.toUpperCase(),
          roles: op['x-custodes-roles'] as string[] | undefined,
        })),
      )
      .filter((o) => o.path.startsWith('/v1/admin/'));
    expect(operations.length).toBeGreaterThan(30);
    for (const { path, method, roles } of operations) {
      expect(roles, `${method} ${path} declares its roles`).toBeDefined();
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => `${name === 'vm' ? 'vm' : name.slice(0, 3)}_00000000000000000000000000`);
      for (const role of ROLES) {
        const res = await call(method, concrete, { as: byRole[role], body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        const body = res.status === 403 ? ((await res.json()) as { code: string }) : null;
        if (roles!.includes(role)) expect(body?.code, `${role} on ${method} ${path}`).not.toBe('missing_role');
        else expect([res.status, body?.code], `${role} on ${method} ${path}`).toEqual([403, 'missing_role']);
      }
    }
  });
});

describe('provider access requests', () => {
  it("an operator acts on a tenant VM only under the tenant's approval, each use in the tenant's log; never plaintext", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    await expectStatus(
      call('PUT', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`, { as: owner, body: { pages: [{ index: 0, envelope: fakeEnvelope() }] } }),
      200,
    );
    const operator = await registeredAdmin(['operator']);
    const body = { vm: vm.id, operation: 'snapshot.create', reasonCode: 'customer_support', detail: 'case 4711: guest crash dump', durationMinutes: 30 };
    const filed = await expectStatus(call('POST', '/v1/admin/access-requests', { as: operator, body }), 201);
    expect(filed).toMatchObject({ tenant: tenant.id, state: 'pending', requester: operator.id, uses: 0 });
    const use = (id: string) => call('POST', `/v1/admin/access-requests/${id}:use`, { as: operator, body: { name: unique('support') } });
    expect((await expectStatus(use(filed.id), 403)).code).toBe('access_not_approved');

    // Only the tenant's owner decides: another tenant sees nothing, an admin cannot approve.
    const stranger = await createTenant();
    expect((await call('POST', `/v1/tenants/${stranger.tenant.id}/access-requests/${filed.id}:approve`, { as: stranger.owner })).status).toBe(404);
    expect((await call('POST', `/v1/tenants/${tenant.id}/access-requests/${filed.id}:approve`, { as: admin })).status).toBe(404);
    expect(
      (await expectStatus(call('GET', `/v1/tenants/${tenant.id}/access-requests`, { as: owner }), 200)).accessRequests.map((r: { id: string }) => r.id),
    ).toEqual([filed.id]);
    const approvedRequest = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/access-requests/${filed.id}:approve`, { as: owner }), 200);
    expect(approvedRequest).toMatchObject({ state: 'approved', validUntil: expect.any(String) });

    const used = await use(filed.id);
    const taken = await expectStatus(used, 200);
    expect(taken).toMatchObject({ accessRequest: { uses: 1 }, snapshot: { vm: vm.id, pages: 1 } });
    expect(JSON.stringify(taken)).not.toMatch(/envelope/i);
    // The operator may not read the tenant's log: its answer carries a receipt that only the tenant's side can open.
    expect(used.headers.get('Custodes-Audit')).toMatch(/^receipt=/);
    expect((await placeOf(used)).log).toBe(`tenants/${tenant.id}`);

    // Scope: another VM's approval does not cover this one; an expired approval covers nothing.
    const denied = await expectStatus(call('POST', '/v1/admin/access-requests', { as: operator, body }), 201);
    await expectStatus(call('POST', `/v1/tenants/${tenant.id}/access-requests/${denied.id}:deny`, { as: owner }), 200);
    expect((await expectStatus(use(denied.id), 403)).code).toBe('access_not_approved');
    await env.DB.prepare("UPDATE access_requests SET valid_until = '2000-01-01T00:00:00.000Z' WHERE id = ?").bind(filed.id).run();
    expect((await expectStatus(use(filed.id), 403)).code).toBe('access_not_approved');

    // The tenant's own log shows the request, its approval, the use, and the refused attempts.
    const steps = (await recordsAbout(`tenants/${tenant.id}`, filed.id)).map((r) => [r.action, r.outcome]);
    expect(steps).toEqual(
      expect.arrayContaining([
        ['access.request', 'allowed'],
        ['access.approve', 'allowed'],
        ['access.use', 'allowed'],
        ['access.use', 'denied'],
      ]),
    );
    expect((await verifyAuditLog(auditSource(`tenants/${tenant.id}`, owner), { log: `tenants/${tenant.id}` })).ok).toBe(true);
  });
});
