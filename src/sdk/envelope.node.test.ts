/**
 * On Node the SDK seals pages with node:crypto, elsewhere with WebCrypto
 * (envelope.ts): both must produce and accept the same envelopes.
 * The WebCrypto side is exercised here directly, with the same additional data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { additionalData, decryptPage, encryptPage, EnvelopeError, newDataKey, PAGE_BYTES } from './envelope';

const address = { tenant: 'ten_A', resource: 'vm_A', space: 'memory' as const, index: 9 };

describe('envelopes on Node', () => {
  it('interoperate with WebCrypto AES-GCM both ways, and still catch tampering', async () => {
    const key = await newDataKey();
    const page = crypto.getRandomValues(new Uint8Array(PAGE_BYTES));
    const aad = additionalData(address, key.id);

    const sealedHere = await encryptPage(page, address, key);
    const openedByWebCrypto = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: sealedHere.slice(17, 29), additionalData: aad },
      key.key,
      sealedHere.slice(29),
    );
    assert.deepEqual(new Uint8Array(openedByWebCrypto), page);

    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const sealedByWebCrypto = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad }, key.key, page));
    const envelope = new Uint8Array([1, ...key.id, ...nonce, ...sealedByWebCrypto]);
    assert.deepEqual(await decryptPage(envelope, address, key), page);

    envelope[100]! ^= 0x80;
    await assert.rejects(decryptPage(envelope, address, key), EnvelopeError);
    await assert.rejects(decryptPage(sealedHere, { ...address, index: 10 }, key), EnvelopeError);
  });

  it('gives every envelope its own nonce, across the draws nonces are taken from', async () => {
    const key = await newDataKey();
    const page = new Uint8Array(PAGE_BYTES);
    const seen = new Set<string>();
    // Past several draws of the nonce pool (256 a draw): a nonce handed out twice would be a repeated (key, IV) pair.
    for (let i = 0; i < 1000; i++) seen.add(Buffer.from((await encryptPage(page, address, key)).subarray(17, 29)).toString('hex'));
    assert.equal(seen.size, 1000);
  });
});
