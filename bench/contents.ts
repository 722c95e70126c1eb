/**
 * Encrypted, audited memory throughput (issue 4): MiB/s of writing and then
 * reading a range of guest memory through the SDK — client-side AES-256-GCM,
 * a fresh token per request, 64-page batches, every batch an audit record —
 * against the bench-only baseline Worker storing the same plaintext bytes in
 * D1 in the same 64-page batches, with no auth, audit or encryption.
 */
import type { JWK } from 'jose';
import { createApiClient } from '../src/client/api';
import { PAGE_BYTES } from '../src/client/envelope';
import { BATCH_PAGES, GuestContents } from '../src/client/guest-contents';
import { newKeystore } from '../src/client/keystore';

export const CONTENT_MIB = 8;

interface Throughput {
  write: number;
  read: number;
}

const mibPerSecond = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);

export async function encryptedThroughput(url: string, owner: { id: string; jwk: JWK }, vm: string): Promise<Throughput> {
  const api = createApiClient({ baseUrl: url, key: owner.jwk, principal: owner.id });
  const contents = new GuestContents(api, await newKeystore());
  const target = { tenant: owner.id, space: 'memory' as const, resource: vm };
  const data = crypto.getRandomValues(new Uint8Array(2 ** 16)); // a 64 KiB pattern, repeated
  const bytes = new Uint8Array(CONTENT_MIB * 2 ** 20);
  for (let at = 0; at < bytes.length; at += data.length) bytes.set(data, at);
  await contents.write(target, 0, bytes.subarray(0, PAGE_BYTES)); // makes and parks the data key outside the timing
  let start = performance.now();
  await contents.write(target, 0, bytes);
  const write = mibPerSecond(bytes.length, performance.now() - start);
  start = performance.now();
  const back = await contents.read(target, 0, bytes.length);
  const read = mibPerSecond(bytes.length, performance.now() - start);
  if (Buffer.compare(Buffer.from(back), Buffer.from(bytes)) !== 0) throw new Error('encrypted read-back differs from what was written');
  return { write, read };
}

export async function baselineThroughput(url: string): Promise<Throughput> {
  const pages = (CONTENT_MIB * 2 ** 20) / PAGE_BYTES;
  const page = Buffer.from(crypto.getRandomValues(new Uint8Array(PAGE_BYTES))).toString('base64');
  let start = performance.now();
  for (let first = 0; first < pages; first += BATCH_PAGES) {
    const batch = Array.from({ length: BATCH_PAGES }, (_, i) => ({ index: first + i, data: page }));
    const res = await fetch(`${url}/raw/vm_baseline/pages`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pages: batch }) });
    if (!res.ok) throw new Error(`baseline write: ${res.status}`);
  }
  const write = mibPerSecond(pages * PAGE_BYTES, performance.now() - start);
  start = performance.now();
  for (let first = 0; first < pages; first += BATCH_PAGES) {
    const res = await fetch(`${url}/raw/vm_baseline/pages?start=${first}&count=${BATCH_PAGES}`);
    const body = (await res.json()) as { pages: { data: string }[] };
    if (body.pages.length !== BATCH_PAGES) throw new Error('baseline read came back short');
    for (const p of body.pages) Buffer.from(p.data, 'base64'); // decode, as the client does
  }
  const read = mibPerSecond(pages * PAGE_BYTES, performance.now() - start);
  return { write, read };
}
