/**
 * Toolstacks (issue 4 item 1): the owner registers, lists and revokes them;
 * their tokens may ask for less than the ceiling, never more; revocation
 * takes effect on the next request while the records it left still verify.
 */
import { describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../../sdk/audit-verify';
import { auditSource, call, expectStatus, mintToken, recordOf } from '../../../test/support/api';
import { fakeEnvelope, newToolstack, tenantWithVm } from '../../../test/support/tenant';

describe('toolstacks', () => {
  it('are registered, listed and revoked by the owner, or a toolstack holding `toolstacks`', async () => {
    const { tenant, owner } = await tenantWithVm();
    const tsk = await newToolstack(tenant.id, owner, ['vm:read']);
    expect(tsk.record).toMatchObject({ tenant: tenant.id, kid: tsk.kid, scopes: ['vm:read'], vms: null, state: 'active' });
    const list = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/toolstacks`, { as: owner }), 200);
    expect(list.toolstacks.map((t: any) => t.id)).toEqual([tsk.id]);
    // A toolstack without the `toolstacks` scope cannot manage toolstacks.
    const denied = await call('GET', `/v1/tenants/${tenant.id}/toolstacks`, { as: tsk, token: await mintToken(tsk, { claims: { scope: 'vm:read' } }) });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { code: string }).code).toBe('missing_scope');
    // An admin sees nothing of it.
    expect((await call('GET', `/v1/tenants/${tenant.id}/toolstacks`)).status).toBe(404);
  });

  it("refuses a key already registered, and a VM that is not the tenant's", async () => {
    const { tenant, owner } = await tenantWithVm();
    const other = await tenantWithVm();
    const tsk = await newToolstack(tenant.id, owner, ['vm:read']);
    const again = await call('POST', `/v1/tenants/${tenant.id}/toolstacks`, {
      as: owner,
      body: { name: 'dup', publicKey: tsk.publicJwk, scopes: ['vm:read'] },
    });
    expect((await expectStatus(again, 409)).code).toBe('resource_in_use');
    const foreign = await call('POST', `/v1/tenants/${tenant.id}/toolstacks`, {
      as: owner,
      body: { name: 'x', publicKey: (await newToolstack(other.tenant.id, other.owner, ['vm:read'])).publicJwk, scopes: ['vm:read'], vms: [other.vm.id] },
    });
    expect(foreign.status).toBe(409); // the key is taken, checked first
  });

  it('rejects a token whose scope or VMs exceed the ceiling, and enforces scopes per route', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const tsk = await newToolstack(tenant.id, owner, ['vm:read', 'memory:read'], [vm.id]);
    const path = `/v1/tenants/${tenant.id}/vms/${vm.id}`;
    const tooWide = await call('GET', path, { token: await mintToken(tsk, { claims: { scope: 'vm:read memory:write' } }) });
    expect((await expectStatus(tooWide, 401)).code).toBe('token_scope_exceeds_ceiling');
    const otherVm = await call('GET', path, { token: await mintToken(tsk, { claims: { scope: 'vm:read', vms: [vm.id, 'vm_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C'] } }) });
    expect((await expectStatus(otherVm, 401)).code).toBe('token_scope_exceeds_ceiling');
    expect((await call('GET', path, { token: await mintToken(tsk, { claims: { scope: 'vm:read' } }) })).status).toBe(200);
    const noScope = await call('GET', path, { token: await mintToken(tsk, { claims: { scope: 'memory:read' } }) });
    expect((await expectStatus(noScope, 403)).code).toBe('missing_scope');
    const control = await call('POST', `${path}:stop`, { token: await mintToken(tsk, { claims: { scope: 'vm:read' } }) });
    expect((await expectStatus(control, 403)).code).toBe('missing_scope');
  });

  it('limits a VM-limited toolstack to its VMs', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const second = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/vms`, { as: owner, body: { name: 'second', vcpus: 1, memoryMiB: 128 } }), 201);
    const tsk = await newToolstack(tenant.id, owner, ['vm:read', 'snapshot'], [vm.id]);
    const token = () => mintToken(tsk, { claims: { scope: 'vm:read snapshot' } });
    const list = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/vms`, { token: await token() }), 200);
    expect(list.vms.map((v: any) => v.id)).toEqual([vm.id]);
    expect((await expectStatus(call('GET', `/v1/tenants/${tenant.id}/vms/${second.id}`, { token: await token() }), 403)).code).toBe('vm_not_allowed');
    // Snapshots name their VM in the body, not the path: the same limit holds.
    expect(
      (await expectStatus(call('POST', `/v1/tenants/${tenant.id}/snapshots`, { token: await token(), body: { vm: second.id, name: 'no' } }), 403)).code,
    ).toBe('vm_not_allowed');
    await expectStatus(call('POST', `/v1/tenants/${tenant.id}/snapshots`, { token: await token(), body: { vm: vm.id, name: 'yes' } }), 201);
  });

  it('revocation fails the next request; the earlier records still verify', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const tsk = await newToolstack(tenant.id, owner, ['vm:read', 'memory:write']);
    const before = await call('GET', `/v1/tenants/${tenant.id}/vms/${vm.id}`, { token: await mintToken(tsk, { claims: { scope: 'vm:read' } }) });
    expect(before.status).toBe(200);
    const earlier = await recordOf(before);
    expect(earlier.record.actor).toMatchObject({ type: 'toolstack', id: tsk.id });
    const revoked = await expectStatus(call('DELETE', `/v1/tenants/${tenant.id}/toolstacks/${tsk.id}`, { as: owner }), 200);
    expect(revoked.state).toBe('revoked');
    // Its key is cached by this isolate since the request above: the audit batch refuses it all the same.
    const after = await call('GET', `/v1/tenants/${tenant.id}/vms/${vm.id}`, { token: await mintToken(tsk, { claims: { scope: 'vm:read' } }) });
    expect((await expectStatus(after, 401)).code).toBe('token_key_unknown');
    expect((await recordOf(after)).record).toMatchObject({ outcome: 'denied', reason: 'token_key_unknown', actor: { id: tsk.id } });
    const write = await call('PUT', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`, {
      token: await mintToken(tsk, { claims: { scope: 'memory:write' } }),
      body: { pages: [{ index: 0, envelope: fakeEnvelope() }] },
    });
    expect((await expectStatus(write, 401)).code).toBe('token_key_unknown');
    expect((await expectStatus(call('GET', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages?start=0&count=1`, { as: owner }), 200)).pages).toEqual([]);
    const verified = await verifyAuditLog(auditSource(`tenants/${tenant.id}`, owner), { log: `tenants/${tenant.id}` });
    expect(verified.ok, verified.ok ? '' : verified.error).toBe(true);
  });
});

describe('tenant VM view', () => {
  it('creates within the slice and controls power', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const base = `/v1/tenants/${tenant.id}/vms/${vm.id}`;
    expect((await expectStatus(call('POST', `${base}:pause`, { as: owner }), 200)).state).toBe('paused');
    expect((await expectStatus(call('POST', `${base}:pause`, { as: owner }), 409)).code).toBe('invalid_state');
    expect((await expectStatus(call('POST', `${base}:stop`, { as: owner }), 200)).state).toBe('stopped');
    expect((await expectStatus(call('POST', `${base}:start`, { as: owner }), 200)).state).toBe('running');
    const big = await call('POST', `/v1/tenants/${tenant.id}/vms`, { as: owner, body: { name: 'huge', vcpus: 65, memoryMiB: 128 } });
    expect((await expectStatus(big, 409)).code).toBe('quota_exceeded');
  });
});
