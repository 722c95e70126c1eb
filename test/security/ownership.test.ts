/**
 * No ownership oracle (issue 11 finding 2): for every tenant route, another
 * tenant's real ids and random well-formed ids get byte-identical answers —
 * status, headers and body — apart from the request id and the receipt, for
 * every kind of caller. The attempt is still in the owner's log; the answer
 * names a log only to a caller who may read it.
 */
import { describe, expect, it } from 'vitest';
import { TENANT_SCOPES } from '../../src/auth/roles';
import { newId, type IdPrefix } from '../../src/lib/ids';
import { admin, call, expectStatus, mintToken, recordIn, type Signer } from '../support/api';
import { tenantOperations } from '../support/operations';
import { fakeEnvelope, newToolstack, tenantWithVm } from '../support/tenant';

const PREFIX: Record<string, IdPrefix> = { tenant: 'ten', vm: 'vm', disk: 'dsk', snapshot: 'snp', key: 'key', toolstack: 'tsk', plan: 'rcp', request: 'acc' };

/** Tenant B with one of everything; answers its ids by path parameter. */
async function victim(): Promise<Record<string, string>> {
  const { tenant, owner, vm } = await tenantWithVm();
  const t = `/v1/tenants/${tenant.id}`;
  await expectStatus(call('PUT', `${t}/vms/${vm.id}/memory/pages`, { as: owner, body: { pages: [{ index: 0, envelope: fakeEnvelope() }] } }), 200);
  const disk = await expectStatus(call('POST', `${t}/disks`, { as: owner, body: { name: 'd', sizeGiB: 1 } }), 201);
  const snapshot = await expectStatus(call('POST', `${t}/snapshots`, { as: owner, body: { vm: vm.id, name: 's' } }), 201);
  const key = await expectStatus(call('POST', `${t}/keys`, { as: owner, body: { name: 'k', wrapped: 'wrapped.key' } }), 201);
  const toolstack = await newToolstack(tenant.id, owner, ['vm:read']);
  await expectStatus(call('PUT', `${t}/labels/secret`, { as: owner, body: { space: 'memory', vm: vm.id, start: 0, count: 1 } }), 201);
  await expectStatus(call('GET', `${t}/vms`, { as: toolstack, token: await mintToken(toolstack, { claims: { scope: 'vm:read' } }) }), 200);
  const plan = await expectStatus(call('POST', `${t}/recovery/plans`, { as: owner, body: { mode: 'undo', seeds: { actors: [toolstack.id] } } }), 201);
  const access = await expectStatus(
    call('POST', '/v1/admin/access-requests', { body: { vm: vm.id, operation: 'snapshot.create', reasonCode: 'customer_support', detail: 'probe' } }),
    201,
  );
  return {
    tenant: tenant.id,
    vm: vm.id,
    disk: disk.id,
    snapshot: snapshot.id,
    key: key.id,
    toolstack: toolstack.id,
    plan: plan.id,
    request: access.id,
    name: 'secret',
    index: '0',
    version: '1',
  };
}

/** The same ids, made up: well-formed, owned by no one. */
const madeUp = (real: Record<string, string>) => Object.fromEntries(Object.entries(real).map(([k, v]) => [k, PREFIX[k] ? newId(PREFIX[k]!) : v]));

function requestFor(path: string, method: string, ids: Record<string, string>, signer: Signer | null) {
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name]!) + (/\/(pages|blocks)$/.test(path) ? '?start=0&count=1' : '');
  let body: unknown;
  if (method === 'put' && /\/(pages|blocks)$/.test(path)) body = { pages: [{ index: 0, envelope: fakeEnvelope() }] };
  else if (method === 'put') body = { space: 'memory', vm: ids.vm, start: 0, count: 1 };
  else if (path.endsWith('/toolstacks'))
    body = { name: 'x', publicKey: signer?.publicJwk ?? { kty: 'OKP', crv: 'Ed25519', x: 'x' }, scopes: ['vm:read'], vms: [ids.vm] };
  else if (path.endsWith('/snapshots')) body = { name: 'x', vm: ids.vm };
  else if (path.endsWith(':attach')) body = { vm: ids.vm };
  else if (path.endsWith('/vms')) body = { name: 'x', vcpus: 1, memoryMiB: 128 };
  else if (path.endsWith('/disks')) body = { name: 'x', sizeGiB: 1 };
  else if (path.endsWith('/keys')) body = { name: 'x', wrapped: 'w' };
  else if (path.endsWith('/plans')) body = { mode: 'undo', seeds: { actors: [ids.toolstack] } };
  return { url, body: method === 'get' || method === 'delete' || body === undefined ? undefined : body };
}

/** An answer with what may differ blanked: the request id, a receipt, a log index. */
async function normalized(res: Response) {
  const requestId = res.headers.get('X-Request-Id')!;
  const headers = [...res.headers.entries()]
    .filter(([name]) => name !== 'x-request-id' && name !== 'date')
    .map(([name, value]) => [
      name,
      name === 'custodes-audit' ? value.replace(/^receipt=[A-Za-z0-9_-]{166}$/, 'receipt=…').replace(/index=\d+$/, 'index=…') : value,
    ]);
  return { status: res.status, headers, body: (await res.text()).replaceAll(requestId, 'req_…') };
}

describe('no ownership oracle', () => {
  it("answers another tenant's ids and made-up ids alike on every tenant route, for every caller", { timeout: 120_000 }, async () => {
    const b = await victim();
    const a = await tenantWithVm();
    const aToolstack = await newToolstack(a.tenant.id, a.owner, [...TENANT_SCOPES]);
    const callers: [string, Signer | null, () => Promise<string | undefined>][] = [
      ['anonymous', null, async () => undefined],
      ['admin', admin, () => mintToken(admin)],
      ['tenant A owner', a.owner, () => mintToken(a.owner)],
      ['tenant A toolstack', aToolstack, () => mintToken(aToolstack, { claims: { scope: TENANT_SCOPES.join(' ') } })],
    ];
    const differences: string[] = [];
    let compared = 0;
    for (const { path, method } of tenantOperations) {
      // Routes that name another resource than the tenant, in the path or (creating a snapshot or a toolstack) in the body.
      const hasResource = /\{(?!tenant)\w+\}/.test(path) || (method === 'post' && /\/(snapshots|toolstacks)$/.test(path));
      for (const [who, signer, token] of callers) {
        // B's ids under B's tenant against made-up ids under a made-up tenant; and, for a tenant caller,
        // B's resource ids under its own tenant against made-up ones there.
        const cases: [Record<string, string>, Record<string, string>][] = [[b, madeUp(b)]];
        if (signer && signer !== admin && hasResource)
          cases.push([
            { ...b, tenant: a.tenant.id },
            { ...madeUp(b), tenant: a.tenant.id },
          ]);
        for (const [real, fake] of cases) {
          const send = async (ids: Record<string, string>) => {
            const { url, body } = requestFor(path, method, ids, signer);
            const t = await token();
            return call(method.toUpperCase(), url, { ...(t ? { token: t } : { as: null }), body });
          };
          const [one, two] = [await normalized(await send(real)), await normalized(await send(fake))];
          compared++;
          if (JSON.stringify(one) !== JSON.stringify(two))
            differences.push(`${who} ${method.toUpperCase()} ${path}:\n  ${JSON.stringify(one)}\n  ${JSON.stringify(two)}`);
        }
      }
    }
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(tenantOperations.length * 4);
  });

  it("names the log only to whom may read it, and still records the attempt in the owner's log", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const unauthenticated = await call('GET', `/v1/admin/vms/${vm.id}`, { as: null });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('Custodes-Audit')).toMatch(/^receipt=[A-Za-z0-9_-]{166}$/);
    expect(await unauthenticated.clone().text()).not.toContain(tenant.id);
    expect((await recordIn(`tenants/${tenant.id}`, unauthenticated)).record).toMatchObject({
      outcome: 'denied',
      reason: 'token_missing',
      actor: { type: 'anonymous' },
    });
    // The owner may read its log: its own answers name it.
    const own = await call('GET', `/v1/tenants/${tenant.id}/vms/${vm.id}`, { as: owner });
    expect(own.headers.get('Custodes-Audit')).toMatch(new RegExp(`^log=tenants/${tenant.id}; index=\\d+$`));
    // And it can open the receipt an outsider got, to find the record.
    const receipt = unauthenticated.headers.get('Custodes-Audit')!.slice('receipt='.length);
    const opened = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/audit/receipts/${receipt}`, { as: owner }), 200);
    expect(opened).toMatchObject({ log: `tenants/${tenant.id}`, index: (await recordIn(`tenants/${tenant.id}`, unauthenticated)).index });
    expect(JSON.parse(Buffer.from(opened.jws.split('.')[1], 'base64url').toString())).toMatchObject({ outcome: 'denied', reason: 'token_missing' });
    // Another tenant cannot: to it, the receipt is as good as made up.
    const other = await tenantWithVm();
    const foreign = await call('GET', `/v1/tenants/${other.tenant.id}/audit/receipts/${receipt}`, { as: other.owner });
    const fake = await call('GET', `/v1/tenants/${other.tenant.id}/audit/receipts/${'A'.repeat(166)}`, { as: other.owner });
    expect([foreign.status, fake.status]).toEqual([404, 404]);
  });
});
