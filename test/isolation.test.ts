/**
 * The provider cannot reach guest contents, and tenants cannot reach each
 * other (issue 4 item 6). Walks every tenant route of the OpenAPI document
 * (the one `openapi.yaml` is generated from; `npm run openapi:check` holds
 * them equal), with every route's parameters naming tenant B's real
 * resources, as: an admin holding every role, tenant A's owner, and a
 * toolstack of A with every scope. Each gets 403/404, no response carries
 * any of B's envelopes, and every attempt is a denied record in B's log.
 */
import { describe, expect, it } from 'vitest';
import { TENANT_SCOPES } from '../src/auth/roles';
import { verifyAuditLog } from '../src/sdk/audit-verify';
import { auditSource, call, expectStatus, mintToken, recordIn, summarizedIn, type Signer } from './support/api';
import { tenantOperations } from './support/operations';
import { fakeEnvelope, newToolstack, tenantWithVm } from './support/tenant';

/** Tenant B with one of everything, and the envelopes it wrote. */
async function victim() {
  const { tenant, owner, vm } = await tenantWithVm();
  const envelope = fakeEnvelope();
  await expectStatus(call('PUT', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`, { as: owner, body: { pages: [{ index: 0, envelope }] } }), 200);
  const disk = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/disks`, { as: owner, body: { name: 'd', sizeGiB: 1 } }), 201);
  await expectStatus(call('PUT', `/v1/tenants/${tenant.id}/disks/${disk.id}/blocks`, { as: owner, body: { pages: [{ index: 0, envelope }] } }), 200);
  const snapshot = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/snapshots`, { as: owner, body: { vm: vm.id, name: 's' } }), 201);
  const key = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/keys`, { as: owner, body: { name: 'k', wrapped: 'wrapped.key' } }), 201);
  const toolstack = await newToolstack(tenant.id, owner, ['vm:read']);
  const params: Record<string, string> = {
    tenant: tenant.id,
    vm: vm.id,
    disk: disk.id,
    snapshot: snapshot.id,
    key: key.id,
    toolstack: toolstack.id,
    index: '0',
    version: '1',
  };
  return { tenant, owner, vm, disk, envelope, params };
}

/** A plausible body and query for each kind of tenant route, so only authorization can refuse it. */
function requestFor(path: string, method: string, b: Awaited<ReturnType<typeof victim>>, signer: Signer) {
  const url =
    path.replace(/\{(\w+)\}/g, (_, name: string) => b.params[name]!) + (path.endsWith('/pages') || path.endsWith('/blocks') ? '?start=0&count=1' : '');
  let body: unknown;
  if (method === 'put') body = { pages: [{ index: 0, envelope: fakeEnvelope() }] };
  else if (path.endsWith('/toolstacks')) body = { name: 'x', publicKey: signer.publicJwk, scopes: ['vm:read'] };
  else if (path.endsWith('/vms') || path.endsWith('/disks') || path.endsWith('/snapshots') || path.endsWith('/keys'))
    body = { name: 'x', vcpus: 1, memoryMiB: 128, sizeGiB: 1, vm: b.vm.id, wrapped: 'w' };
  else if (path.endsWith(':attach')) body = { vm: b.vm.id };
  return { url, body: method === 'get' || method === 'delete' || body === undefined ? undefined : body };
}

describe("the provider and other tenants cannot reach a tenant's resources", () => {
  it("walks every tenant route as an admin, as another tenant's owner and as its full-scope toolstack", { timeout: 30_000 }, async () => {
    expect(tenantOperations.length).toBeGreaterThan(25);
    const b = await victim();
    const a = await tenantWithVm();
    const aToolstack = await newToolstack(a.tenant.id, a.owner, [...TENANT_SCOPES]);
    const { admin } = await import('./support/api');
    const intruders: [string, Signer, () => Promise<string>][] = [
      ['admin', admin, () => mintToken(admin)],
      ['tenant A owner', a.owner, () => mintToken(a.owner)],
      ['tenant A toolstack', aToolstack, () => mintToken(aToolstack, { claims: { scope: TENANT_SCOPES.join(' ') } })],
    ];
    let denials = 0;
    let counted = 0;
    for (const { path, method } of tenantOperations) {
      for (const [who, signer, token] of intruders) {
        const { url, body } = requestFor(path, method, b, signer);
        const res = await call(method.toUpperCase(), url, { token: await token(), body });
        const text = await res.clone().text();
        expect([403, 404], `${who}: ${method.toUpperCase()} ${path} → ${res.status} ${text.slice(0, 200)}`).toContain(res.status);
        expect(text.includes(b.envelope), `${who}: ${method.toUpperCase()} ${path} returned an envelope`).toBe(false);
        expect(text, `${who}: ${path}`).not.toMatch(/"envelope"/);
        // An admin's attempt is always recorded in full; another tenant's, once the window's sample is
        // used up, is counted into a summary record (audit/log/sequencer.ts appendRefusal).
        const found = await recordIn(`tenants/${b.tenant.id}`, res).catch(() => null);
        if (found) expect(found.record, `${who}: ${method.toUpperCase()} ${path}`).toMatchObject({ outcome: 'denied', actor: { id: signer.id } });
        else if (who === 'admin') throw new Error(`admin: ${method.toUpperCase()} ${path} is not in B's log`);
        else counted++;
        denials++;
      }
    }
    expect(denials).toBe(tenantOperations.length * intruders.length);
    expect(counted, 'the walk outnumbers the sample: some attempts were counted, not recorded').toBeGreaterThan(0);
    expect(await summarizedIn(`tenants/${b.tenant.id}`)).toBe(counted);
    // B's log, with every one of those denials in it, verifies.
    const verified = await verifyAuditLog(auditSource(`tenants/${b.tenant.id}`, b.owner), { log: `tenants/${b.tenant.id}` });
    expect(verified.ok, verified.ok ? '' : verified.error).toBe(true);
    // And nothing of B's changed: its memory still holds exactly its own page.
    const pages = await expectStatus(call('GET', `/v1/tenants/${b.tenant.id}/vms/${b.vm.id}/memory/pages?start=0&count=4`, { as: b.owner }), 200);
    expect(pages.pages.map((p: any) => [p.index, p.version, p.envelope])).toEqual([[0, 1, b.envelope]]);
  });
});
