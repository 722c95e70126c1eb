/**
 * Access beyond the tenant's "yes" (issue 32, docs/design.md §7): the tenant's
 * policy per reason, break-glass on two security admins' word, and a sealed
 * legal request whose use reaches the tenant's log as a sealed record, then
 * revealed and checked against its commitment.
 */
import { env } from 'cloudflare:test';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSeals } from '../src/sdk/seals';
import { admin, admin2, bootstrap, call, expectStatus, registeredAdmin, tenantWithVm, unique, type Signer } from './support/api';

const logOf = async (log: string): Promise<{ index: number; jws: string; record: any }[]> => {
  const { results } = await env.DB.prepare('SELECT idx, jws FROM audit_records WHERE log = ? ORDER BY idx').bind(log).all<{ idx: number; jws: string }>();
  return results.map((r) => ({ index: r.idx, jws: r.jws, record: JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString()) }));
};

const file = (vm: string, reasonCode: string, more: object = {}, as: Signer = admin) =>
  call('POST', '/v1/admin/access-requests', {
    as,
    body: { vm, operation: 'snapshot.create', reasonCode, detail: `why: ${reasonCode}`, durationMinutes: 120, ...more },
  });

describe("the tenant's access policy", () => {
  it("decides per reason: deny at once, allow for at most N minutes, or leave it to the owner (the default); each decision is in the tenant's log", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const policy = await expectStatus(
      call('PUT', `/v1/tenants/${tenant.id}/access-policy`, {
        as: owner,
        body: {
          rules: [
            { reasonCode: 'maintenance', decision: 'allow', maxMinutes: 30 },
            { reasonCode: 'third_party_request', decision: 'deny' },
            { reasonCode: 'customer_support', decision: 'approve' },
          ],
        },
      }),
      200,
    );
    expect(policy.rules).toHaveLength(6);
    expect(policy.rules.find((r: { reasonCode: string }) => r.reasonCode === 'provider_review')).toEqual({
      reasonCode: 'provider_review',
      decision: 'approve',
      maxMinutes: null,
    });

    const allowed = await expectStatus(file(vm.id, 'maintenance'), 201);
    expect(allowed).toMatchObject({ state: 'approved', decidedBy: 'policy', durationMinutes: 30 });
    expect(Date.parse(allowed.validUntil) - Date.now()).toBeLessThanOrEqual(30 * 60_000 + 5_000);
    await expectStatus(call('POST', `/v1/admin/access-requests/${allowed.id}:use`, { body: { name: unique('m') } }), 200);

    const refused = await expectStatus(file(vm.id, 'third_party_request'), 201);
    expect(refused).toMatchObject({ state: 'denied', decidedBy: 'policy', validUntil: null });
    expect((await expectStatus(call('POST', `/v1/admin/access-requests/${refused.id}:use`, { body: { name: unique('t') } }), 403)).code).toBe(
      'access_not_approved',
    );

    for (const reason of ['customer_support', 'provider_review', 'incident_response']) {
      expect(await expectStatus(file(vm.id, reason), 201)).toMatchObject({ state: 'pending', decidedBy: null });
    }
    // The tenant's log holds each filing with what the policy did.
    const tenantLog = await logOf(`tenants/${tenant.id}`);
    const decided = tenantLog.filter((r) => r.record.action === 'access.request' && r.record.details.decidedBy === 'policy').map((r) => r.record.details.state);
    expect(decided.sort()).toEqual(['approved', 'denied']);
    expect(tenantLog.some((r) => r.record.action === 'access.policy.set')).toBe(true);
  });
});

describe('break-glass', () => {
  it("needs two enrolled security admins — never the one who filed, never a bootstrap key — is at most 4 h, cannot be sealed, and is in the tenant's log as break-glass", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const operator = await registeredAdmin(['operator']);
    expect((await expectStatus(file(vm.id, 'incident_response', { breakGlass: true }, operator), 403)).code).toBe('missing_role');
    expect((await expectStatus(file(vm.id, 'incident_response', { breakGlass: true, durationMinutes: 300 }), 400)).code).toBe('invalid_request');
    expect((await expectStatus(file(vm.id, 'legal_request', { breakGlass: true, sealUntil: new Date(Date.now() + 86_400_000).toISOString() }), 400)).code).toBe(
      'invalid_request',
    );

    const request = await expectStatus(file(vm.id, 'incident_response', { breakGlass: true, durationMinutes: 240 }), 201);
    expect(request).toMatchObject({ state: 'pending', breakGlass: true, decidedBy: null });
    // Not the tenant's to decide, nor the filer's, nor a bootstrap key's.
    expect((await expectStatus(call('POST', `/v1/tenants/${tenant.id}/access-requests/${request.id}:approve`, { as: owner }), 409)).code).toBe('invalid_state');
    expect((await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:approve`, { as: admin }), 403)).code).toBe('self_approval');
    expect((await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:approve`, { as: bootstrap }), 403)).code).toBe('bootstrap_retired');
    expect((await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:use`, { body: { name: unique('bg') } }), 403)).code).toBe(
      'access_not_approved',
    );

    const granted = await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:approve`, { as: admin2 }), 200);
    expect(granted).toMatchObject({ state: 'approved', decidedBy: admin2.id });
    expect(Date.parse(granted.validUntil) - Date.now()).toBeLessThanOrEqual(240 * 60_000 + 5_000);
    await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:use`, { body: { name: unique('bg') } }), 200);

    const about = (await logOf(`tenants/${tenant.id}`))
      .filter((r) => r.record.target?.id === request.id || r.record.details?.accessRequest === request.id)
      .map((r) => [r.record.action, r.record.details?.breakGlass]);
    expect(about).toEqual(
      expect.arrayContaining([
        ['access.request', true],
        ['access.approve', true],
        ['access.use', true],
      ]),
    );
  });
});

describe('sealed access', () => {
  it('shows at once as a sealed record — time, VM, commitment — with the request hidden; revealed, the record matches its commitment', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
    expect((await expectStatus(file(vm.id, 'customer_support', { sealUntil: until }), 400)).code).toBe('invalid_request');
    expect((await expectStatus(file(vm.id, 'legal_request', { sealUntil: new Date(Date.now() + 200 * 86_400_000).toISOString() }), 400)).code).toBe(
      'invalid_request',
    );
    const request = await expectStatus(file(vm.id, 'legal_request', { sealUntil: until }), 201);
    await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:approve`, { as: admin2 }), 200);
    const before = (await logOf(`tenants/${tenant.id}`)).length;
    // The tenant does not see the request, nor its filing or approval.
    expect((await expectStatus(call('GET', `/v1/tenants/${tenant.id}/access-requests`, { as: owner }), 200)).accessRequests).toEqual([]);
    expect((await call('GET', `/v1/tenants/${tenant.id}/access-requests/${request.id}`, { as: owner })).status).toBe(404);

    await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:use`, { body: { name: unique('legal') } }), 200);
    // The tenant's log learns of it at once (its next read delivers the sealed record), and no more.
    expect((await call('GET', `/v1/tenants/${tenant.id}/audit/checkpoint`, { as: owner })).status).toBe(200);
    const after = await logOf(`tenants/${tenant.id}`);
    const sealed = after.slice(before).filter((r) => r.record.action === 'access.sealed');
    expect(sealed).toHaveLength(1);
    expect(sealed[0]!.record).toMatchObject({ target: { type: 'vm', id: vm.id }, actor: { type: 'system' }, details: { sealUntil: until } });
    expect(JSON.stringify(sealed[0]!.record)).not.toMatch(new RegExp(`${admin.id}|legal_request|${request.id}`));
    const hidden = (await logOf('provider')).find((r) => r.record.action === 'access.use' && r.record.details.accessRequest === request.id)!;
    const commitment = `sha256:${createHash('sha256')
      .update(Buffer.from(hidden.jws.split('.')[1]!, 'base64url'))
      .digest('hex')}`;
    expect(sealed[0]!.record.details.commitment).toBe(commitment);
    expect(checkSeals(after, Date.now()).findings).toEqual([]);

    // Revealed (early, by a security admin): the tenant's log carries the full record, which matches.
    const revealed = await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:reveal`, { as: admin2 }), 200);
    expect(revealed.revealed).toBe(1);
    const log = await logOf(`tenants/${tenant.id}`);
    const report = checkSeals(log, Date.now());
    expect(report.findings).toEqual([]);
    expect(report.seals[0]).toMatchObject({ vm: vm.id, revealedAt: expect.any(Number), revealed: { actor: { id: admin.id }, action: 'access.use' } });
    expect(
      (await expectStatus(call('GET', `/v1/tenants/${tenant.id}/access-requests`, { as: owner }), 200)).accessRequests.map((r: { id: string }) => r.id),
    ).toEqual([request.id]);
    // A second reveal appends nothing.
    expect((await expectStatus(call('POST', `/v1/admin/access-requests/${request.id}:reveal`, { as: admin2 }), 200)).revealed).toBe(0);
  });
});
