/**
 * The bootstrap ceremony (issue 32, docs/design.md §7): bootstrap keys enrol
 * the first admins and nothing else, retire once two enrolled admins hold
 * `security`, never count as an approval, and come back only through a
 * two-person change. Each test reopens the ceremony by removing the two
 * admins every test starts with.
 */
import { env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { bootstrap, bootstrap2, call, expectStatus, newSigner, recordIn, unique, type Signer } from '../../../test/support/api';

const ALL = ['provisioner', 'operator', 'auditor', 'security'];

beforeEach(async () => {
  await env.DB.prepare('DELETE FROM admins').run(); // back to a fresh deployment: only the bootstrap keys
});

async function enrol(name: string, roles: string[], as: Signer = bootstrap): Promise<Signer> {
  const signer = await newSigner('pending');
  const enrolled = await expectStatus(call('POST', '/v1/admin/admins', { as, body: { name, publicKey: signer.publicJwk, roles } }), 201);
  return { ...signer, id: enrolled.id };
}

describe('the bootstrap ceremony', () => {
  it('bootstrap keys only enrol: everything else is refused, and recorded', async () => {
    const host = await call('POST', '/v1/admin/hosts', { as: bootstrap, body: { name: unique('h'), vcpus: 1, memoryMiB: 1024, diskGiB: 1 } });
    expect((await expectStatus(host, 403)).code).toBe('bootstrap_limited');
    const { record } = await recordIn('provider', host);
    expect(record).toMatchObject({ action: 'host.create', outcome: 'denied', reason: 'bootstrap_limited', actor: { id: 'adm_bootstrap' } });
  });

  it('enrols two security admins, then every bootstrap key is refused (bootstrap_retired); the enrolment that retired them says so', async () => {
    const alice = await enrol('alice', ALL);
    const bob = await enrol('bob', ['operator'], bootstrap2);
    // Roles are set at once in the ceremony: this makes two security admins.
    const promoted = await call('PATCH', `/v1/admin/admins/${bob.id}`, { as: bootstrap, body: { roles: ALL } });
    expect(await expectStatus(promoted, 200)).toMatchObject({ id: bob.id, roles: ALL });
    expect((await recordIn('provider', promoted)).record.details.ceremony).toEqual({ by: 'adm_bootstrap', securityAdmins: 2, bootstrapRetired: true });

    for (const key of [bootstrap, bootstrap2]) {
      const refused = await call('POST', '/v1/admin/admins', {
        as: key,
        body: { name: unique('late'), publicKey: (await newSigner('x')).publicJwk, roles: ['auditor'] },
      });
      expect((await expectStatus(refused, 403)).code).toBe('bootstrap_retired');
      expect((await recordIn('provider', refused)).record).toMatchObject({ outcome: 'denied', reason: 'bootstrap_retired' });
    }
    const listed = await expectStatus(call('GET', '/v1/admin/admins?pageSize=100', { as: alice }), 200);
    expect(listed.admins.filter((a: { bootstrap: boolean }) => a.bootstrap).map((a: { state: string }) => a.state)).toEqual(['retired', 'retired']);
    // From now on, registering an admin is a change request between the two enrolled admins.
    const proposed = await expectStatus(
      call('POST', '/v1/admin/admins', { as: alice, body: { name: unique('carol'), publicKey: (await newSigner('c')).publicJwk, roles: ['auditor'] } }),
      202,
    );
    expect((await expectStatus(call('POST', `/v1/admin/changes/${proposed.id}:approve`, { as: alice }), 403)).code).toBe('self_approval');
    await expectStatus(call('POST', `/v1/admin/changes/${proposed.id}:approve`, { as: bob }), 200);
  });

  it('a change proposed by an enrolled admin is approved neither by a bootstrap key nor by its proposer: only by a second enrolled admin', async () => {
    const alice = await enrol('alice', ALL);
    // The ceremony is still open (one security admin): a bootstrap key still may not approve anything.
    const owner = await newSigner('owner');
    const tenant = await expectStatus(
      call('POST', '/v1/admin/tenants', {
        as: alice,
        body: { name: unique('t'), ownerKey: owner.publicJwk, quota: { vcpus: 8, memoryMiB: 8192, diskGiB: 10 } },
      }),
      201,
    );
    await expectStatus(call('POST', '/v1/admin/hosts', { as: alice, body: { name: unique('h'), vcpus: 8, memoryMiB: 8192, diskGiB: 10 } }), 201);
    const vm = await expectStatus(
      call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { as: alice, body: { name: unique('vm'), vcpus: 1, memoryMiB: 512 } }),
      201,
    );
    const change = await expectStatus(call('DELETE', `/v1/admin/vms/${vm.id}`, { as: alice }), 202);
    expect((await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: bootstrap }), 403)).code).toBe('bootstrap_limited');
    expect((await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: alice }), 403)).code).toBe('self_approval');
    const bob = await enrol('bob', ALL);
    expect((await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: bootstrap2 }), 403)).code).toBe('bootstrap_retired');
    expect(await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: bob }), 200)).toMatchObject({
      change: { state: 'executed', approvals: [{ admin: bob.id }] },
    });
  });

  it('re-enabling a retired bootstrap key is a two-person change, for a bounded time, and for that key only', async () => {
    const alice = await enrol('alice', ALL);
    const bob = await enrol('bob', ALL);
    const change = await expectStatus(call('POST', '/v1/admin/admins/adm_bootstrap:reenable', { as: alice, body: { minutes: 30 } }), 202);
    expect(change).toMatchObject({ operation: 'bootstrap.reenable', requiredRole: 'security', target: { type: 'admin', id: 'adm_bootstrap' } });
    expect(
      (
        await expectStatus(
          call('POST', '/v1/admin/admins', { as: bootstrap, body: { name: 'early', publicKey: (await newSigner('e')).publicJwk, roles: ['auditor'] } }),
          403,
        )
      ).code,
    ).toBe('bootstrap_retired');
    await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: bob }), 200);
    const again = await enrol('dave', ['auditor']);
    expect(again.id).toMatch(/^adm_/);
    const shown = await expectStatus(call('GET', '/v1/admin/admins/adm_bootstrap', { as: alice }), 200);
    expect(shown).toMatchObject({ state: 'active', bootstrap: true, reenabledUntil: expect.any(String) });
    expect(
      (
        await expectStatus(
          call('POST', '/v1/admin/admins', { as: bootstrap2, body: { name: 'other', publicKey: (await newSigner('o')).publicJwk, roles: ['auditor'] } }),
          403,
        )
      ).code,
    ).toBe('bootstrap_retired');
    expect((await expectStatus(call('POST', '/v1/admin/admins/adm_bootstrap:reenable', { as: alice, body: { minutes: 10_000 } }), 400)).code).toBe(
      'invalid_request',
    );
  });
});
