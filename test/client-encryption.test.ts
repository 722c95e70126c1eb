/**
 * Client-side encryption (issue 4 item 7) and the SDK's byte-range helpers
 * (item 8), against the real app: envelopes round-trip; a flipped bit, a page
 * moved to another index and a page moved to another VM fail to decrypt; a
 * provider serving an older (authentic) version is caught by --verify-fresh.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApiClient } from '../src/sdk/client';
import { verifyAuditLog } from '../src/sdk/audit-verify';
import { decryptPage, encryptPage, EnvelopeError, newDataKey, PAGE_BYTES, type PageAddress } from '../src/sdk/envelope';
import { GuestContents, latestWritesFromLog, StaleVersionError } from '../src/sdk/guest-contents';
import { ProviderMisbehaviourError } from '../src/sdk/read-evidence';
import { newKeystore } from '../src/sdk/keystore';
import { app, auditSource, call, expectStatus } from './support/api';
import { tenantWithVm } from './support/tenant';
import { decodeReadFrame, encodeReadFrame, PAGES_MEDIA_TYPE, type FramedPage } from '../src/lib/page-frames';

const address: PageAddress = { tenant: 'ten_A', resource: 'vm_A', space: 'memory', index: 3 };

describe('envelopes', () => {
  it('round-trip, and reject a flipped bit, another index, another VM and another key', async () => {
    const key = await newDataKey();
    const page = crypto.getRandomValues(new Uint8Array(PAGE_BYTES));
    const envelope = await encryptPage(page, address, key);
    expect(envelope.length).toBe(4141);
    expect(envelope[0]).toBe(1);
    expect(await decryptPage(envelope, address, key)).toEqual(page);
    const flipped = envelope.slice();
    flipped[2000]! ^= 0x01;
    await expect(decryptPage(flipped, address, key)).rejects.toThrow(EnvelopeError);
    await expect(decryptPage(envelope, { ...address, index: 4 }, key)).rejects.toThrow(EnvelopeError);
    await expect(decryptPage(envelope, { ...address, resource: 'vm_B' }, key)).rejects.toThrow(EnvelopeError);
    await expect(decryptPage(envelope, { ...address, tenant: 'ten_B' }, key)).rejects.toThrow(EnvelopeError);
    await expect(decryptPage(envelope, address, await newDataKey())).rejects.toThrow(/sealed under data key/);
  });
});

describe('guest contents through the SDK', () => {
  async function setup() {
    const { tenant, owner, vm } = await tenantWithVm();
    let serve: ((request: Request) => Promise<Response>) | null = null;
    const fetchApp = async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      return (serve ?? ((r: Request) => app.request(r, undefined, env)))(request);
    };
    const api = createApiClient({ baseUrl: 'http://custodes.test', key: owner.privateJwk, principal: tenant.id, fetch: fetchApp as typeof fetch });
    const contents = new GuestContents(api, await newKeystore());
    return {
      tenant,
      owner,
      vm,
      contents,
      target: { tenant: tenant.id, space: 'memory' as const, resource: vm.id },
      intercept: (f: typeof serve) => (serve = f),
    };
  }

  it('writes and reads arbitrary byte ranges; unwritten pages read as zeros', async () => {
    const { tenant, owner, vm, contents, target } = await setup();
    const data = new TextEncoder().encode('canary: the TLS key lives here. '.repeat(400)); // 12.8 KB across 4 pages
    const written = await contents.write(target, 5000, data);
    expect(written.pages).toBe(4);
    expect(await contents.read(target, 5000, data.length)).toEqual(data);
    const around = await contents.read(target, 0, 5000 + data.length + 100);
    expect(around.subarray(0, 5000).every((b) => b === 0)).toBe(true);
    expect(around.subarray(5000, 5000 + data.length)).toEqual(data);
    // The provider holds ciphertext only, and a data key wrapped under the tenant's KEK.
    const stored = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages?start=0&count=8`, { as: owner }), 200);
    for (const page of stored.pages) expect(Buffer.from(page.envelope, 'base64').toString('latin1')).not.toContain('canary');
    const keys = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/keys`, { as: owner }), 200);
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0].wrapped.split('.')).toHaveLength(5); // compact JWE
  });

  it('a provider serving an older version of a page is caught: by the signed records served with a read, and by --verify-fresh', async () => {
    const { tenant, owner, vm, contents, target, intercept } = await setup();
    await contents.write(target, 0, new TextEncoder().encode('version one'));
    await contents.write(target, 0, new TextEncoder().encode('version two'));
    const source = auditSource(`tenants/${tenant.id}`, owner);
    const verified = await verifyAuditLog(source, { log: `tenants/${tenant.id}` });
    expect(verified.ok).toBe(true);
    const { records } = await source.records(0, 1000);
    const latest = latestWritesFromLog(records, target);
    expect(new TextDecoder().decode(await contents.read(target, 0, 11, { latest }))).toBe('version two');

    // A provider that answers with page 0's first version: authentic ciphertext (AES-GCM alone cannot tell), stale content.
    const old = (await expectStatus(call('GET', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages/0/versions/1`, { as: owner }), 200)) as {
      evidence: unknown;
    };
    const { evidence: oldEvidence, ...oldJson } = old as typeof old & { index: number; version: number; digest: string; envelope: string };
    // The SDK reads pages as binary frames (lib/page-frames.ts): the provider lies in that form, and in JSON where a frame was asked for.
    const oldPage = {
      index: oldJson.index,
      version: oldJson.version,
      digest: Buffer.from(oldJson.digest.slice('sha256:'.length), 'hex'),
      envelope: Uint8Array.from(Buffer.from(oldJson.envelope, 'base64')),
    };
    type Current = { pages: FramedPage[]; evidence: { read: unknown; writes: unknown[] } };
    const framed = (pages: FramedPage[], evidence?: unknown) =>
      new Response(encodeReadFrame(pages, evidence ?? null), { headers: { 'Content-Type': PAGES_MEDIA_TYPE } });
    const answers: ((current: Current) => Response)[] = [
      () => framed([oldPage]), // no evidence at all
      (current) => framed([oldPage], current.evidence), // this read's own records, contradicted by the bytes
      () => framed([oldPage], oldEvidence), // another read's genuine records, replayed
      (current) => framed([{ ...oldPage, version: 2 }], current.evidence), // the old bytes under the new version number
      (current) => Response.json({ pages: [oldJson], evidence: current.evidence }), // JSON where a frame was asked for
      () => new Response(new Uint8Array([0x43, 0x50, 0x52, 0x01, 0, 0, 0, 9]), { headers: { 'Content-Type': PAGES_MEDIA_TYPE } }), // a frame that is not one
    ];
    for (const answer of answers) {
      intercept(async (request) => {
        const response = await app.request(request, undefined, env);
        if (request.method !== 'GET' || !new URL(request.url).pathname.endsWith('/memory/pages')) return response;
        const current = decodeReadFrame<Current['evidence']>(new Uint8Array(await response.arrayBuffer()));
        if (!current.ok) throw new Error(current.reason);
        return answer(current.value);
      });
      await expect(contents.read(target, 0, 11)).rejects.toThrow(ProviderMisbehaviourError);
      await expect(contents.read(target, 0, 11, { latest })).rejects.toThrow(ProviderMisbehaviourError);
    }
    // An honest-looking answer for version 1 (its own records) is stale all the same: the verified log's newest write is version 2.
    intercept(async (request) => app.request(request, undefined, env));
    await expect(contents.read(target, 0, 11, { latest: new Map([[0, { version: 3, digest: 'sha256:00' }]]) })).rejects.toThrow(StaleVersionError);
  });
});
