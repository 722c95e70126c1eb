/** Fixtures for the tenant side: a tenant with a VM, toolstacks, and well-formed (random) envelopes. */
import { call, createHost, createTenant, expectStatus, newSigner, type Signer } from './api';

/** 4141 bytes: 0x01 | key-id | nonce | ciphertext + tag. Random bytes: the server checks shape only. */
export function fakeEnvelope(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4141));
  bytes[0] = 0x01;
  return Buffer.from(bytes).toString('base64');
}

export async function sha256Digest(base64: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', Buffer.from(base64, 'base64'));
  return `sha256:${Buffer.from(digest).toString('hex')}`;
}

export async function tenantWithVm(memoryMiB = 128) {
  await createHost();
  const { tenant, owner } = await createTenant();
  const vm = await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: 'guest', vcpus: 1, memoryMiB } }), 201);
  return { tenant, owner, vm };
}

export async function newToolstack(tenant: string, owner: Signer, scopes: string[], vms?: string[]): Promise<Signer & { record: any }> {
  const signer = await newSigner('pending');
  const record = await expectStatus(
    call('POST', `/v1/tenants/${tenant}/toolstacks`, {
      as: owner,
      body: { name: `tsk-${crypto.randomUUID().slice(0, 8)}`, publicKey: signer.publicJwk, scopes, ...(vms ? { vms } : {}) },
    }),
    201,
  );
  return { ...signer, id: record.id, record };
}
