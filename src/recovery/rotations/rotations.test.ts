/**
 * Rotation after an exposure (issue 15): a toolstack read a labelled secret;
 * the tenant re-seals under a new data key and retires the old one. The
 * current contents read back exactly; the version the attacker read no longer
 * opens with anything the provider holds; no plaintext or key material is in
 * the database; the exposure report says the read was rotated.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApiClient } from '../../sdk/client';
import { decryptPage, envelopeKeyId, keyIdHex, PAGE_BYTES } from '../../sdk/envelope';
import { GuestContents } from '../../sdk/guest-contents';
import { newKeystore, unwrapDataKey } from '../../sdk/keystore';
import { rotateDataKeys } from '../../sdk/rotation';
import { app, call, expectStatus, mintToken } from '../../../test/support/api';
import { newToolstack, tenantWithVm } from '../../../test/support/tenant';

const fetchApp = (async (input: RequestInfo | URL, init?: RequestInit) => app.request(new Request(input, init), undefined, env)) as typeof fetch;

describe('rotation after an exposure', () => {
  it('re-seals under a new key, retires the old one so the read version cannot be opened, and the report says so', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const t = `/v1/tenants/${tenant.id}`;
    const api = createApiClient({ baseUrl: 'http://custodes.test', key: owner.privateJwk, principal: tenant.id, fetch: fetchApp });
    const keystore = await newKeystore();
    const contents = new GuestContents(api, keystore);
    const target = { tenant: tenant.id, space: 'memory' as const, resource: vm.id };
    const secret = new TextEncoder().encode('canary-rotation: db password is hunter2'.padEnd(2 * PAGE_BYTES, '.'));
    const other = new TextEncoder().encode('canary-rotation: unrelated page under the same key');
    await contents.write(target, 0, secret);
    await contents.write(target, 5 * PAGE_BYTES, other);
    await expectStatus(call('PUT', `${t}/labels/db-password`, { as: owner, body: { space: 'memory', vm: vm.id, start: 0, count: 2 } }), 201);

    // A stolen toolstack reads the secret: version 1 of pages 0 and 1.
    const thief = await newToolstack(tenant.id, owner, ['memory:read']);
    const read = await expectStatus(
      call('GET', `${t}/vms/${vm.id}/memory/pages?start=0&count=2`, { token: await mintToken(thief, { claims: { scope: 'memory:read' } }) }),
      200,
    );
    const stolen = new Uint8Array(Buffer.from(read.pages[0].envelope, 'base64'));
    const oldKey = keyIdHex(envelopeKeyId(stolen));

    const rotation = await rotateDataKeys(api, keystore, { tenant: tenant.id, labels: ['db-password'] });
    expect(rotation.retired).toEqual([oldKey]);
    expect(rotation.newKey).not.toBe(oldKey);
    expect(rotation.resealed).toEqual([{ target, pages: [0, 1, 5] }]);

    // The current contents read back exactly, through a client that never saw the old key.
    const fresh = new GuestContents(api, keystore);
    expect(await fresh.read(target, 0, secret.length)).toEqual(secret);
    expect(await fresh.read(target, 5 * PAGE_BYTES, other.length)).toEqual(other);

    // The version the attacker read, fetched by number, opens with no key the provider still holds.
    const old = await expectStatus(call('GET', `${t}/vms/${vm.id}/memory/pages/0/versions/1`, { as: owner }), 200);
    const held = (await expectStatus(call('GET', `${t}/keys?pageSize=100`, { as: owner }), 200)).keys as { name: string; wrapped: string }[];
    expect(held.map((k) => k.name)).not.toContain(`dek-${oldKey}`);
    for (const key of held) {
      const id = Uint8Array.from(Buffer.from(key.name.slice(4), 'hex'));
      const dataKey = await unwrapDataKey(keystore, id, key.wrapped);
      await expect(
        decryptPage(new Uint8Array(Buffer.from(old.envelope, 'base64')), { tenant: tenant.id, resource: vm.id, space: 'memory', index: 0 }, dataKey),
      ).rejects.toThrow();
    }

    // Nothing in the database holds the plaintext, or the KEK.
    for (const { name } of (
      await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'").all<{ name: string }>()
    ).results) {
      const rows = JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results);
      expect(rows, name).not.toContain('canary-rotation');
      expect(rows, name).not.toContain(keystore.kek.k!);
    }

    // The report marks the read as rotated; the rotation is a record of its own.
    const report = await expectStatus(call('GET', `${t}/exposure?label=db-password`, { as: owner }), 200);
    const reads = report.labels[0].reads as { actor: { id: string }; rotatedAt: string | null; time: string }[];
    expect(reads.find((r) => r.actor.id === thief.id)).toMatchObject({ rotatedAt: rotation.rotatedAt });
    // Reads after the rotation (the owner's own, checking the new versions) are not covered by it.
    expect(reads.filter((r) => r.time > rotation.rotatedAt).every((r) => r.rotatedAt === null)).toBe(true);
    const records = await expectStatus(call('GET', `${t}/audit/records?from=${rotation.auditIndex}&limit=1`, { as: owner }), 200);
    const record = JSON.parse(Buffer.from(records.records[0].jws.split('.')[1], 'base64url').toString('utf8'));
    expect(record).toMatchObject({ action: 'recovery.rotate', outcome: 'allowed', details: { labels: ['db-password'], resealed: 3 } });

    // A rotation naming a key that is gone changes nothing.
    const again = await call('POST', `${t}/recovery/rotations`, {
      as: owner,
      body: { labels: ['db-password'], retire: [record.details.retired[0]], resealed: 0 },
    });
    expect(again.status).toBe(404);
  });
});
