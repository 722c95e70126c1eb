/**
 * The same comparison on the programmatic Miniflare runtime (what `npm start`
 * and `custodes/testing` run, with no `wrangler dev` proxy in front): the
 * reference Worker (`ok`, one INSERT) and the audited VM create, at 16 and 64
 * clients. The Custodes Worker is the deployment bundle (scripts/build-worker.ts)
 * with its rate limits raised out of reach, as the wrangler dev bench does.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { buildWorker } from '../scripts/build-worker';
import { launchWorker } from '../src/testing/runtime';
import { load, REQUESTS, signedRequests, type Figures } from './load';
import { api, DIR, instanceSecrets, mintTokens, newPrincipal, publicOf, type Principal } from './workers';

export interface RuntimeCeiling {
  ok: Record<16 | 64, Figures>;
  insert: Record<16 | 64, Figures>;
  audited: Record<16 | 64, Figures>;
}

async function referenceOnMiniflare(): Promise<{ mf: Miniflare; url: string }> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: 0,
      workers: [{ name: 'reference', compatibilityDate: '2026-11-01', modules: true, scriptPath: resolve('bench/reference-worker.js'), d1Databases: { DB: 'reference' } }],
    } as never),
  );
  const url = (await mf.ready).origin;
  await fetch(`${url}/seed`, { method: 'POST' });
  return { mf, url };
}

/** The bundle in a directory of its own, its manifest's rate limits out of reach. */
export async function unlimitedBundle(): Promise<string> {
  const { dir } = await buildWorker();
  const copy = resolve(DIR, 'miniflare-worker');
  rmSync(copy, { recursive: true, force: true });
  cpSync(dir, copy, { recursive: true });
  const manifestFile = join(copy, 'manifest.json');
  writeFileSync(manifestFile, readFileSync(manifestFile, 'utf8').replace(/"limit":\s*\d+/g, '"limit": 100000000'));
  return copy;
}

/** The reference Worker and the Custodes bundle on Miniflare, with hosts and `tenantCount` tenants (4096 one-vCPU VMs each) to create VMs in. */
export async function miniflareInstances(tenantCount = 2): Promise<{ reference: string; custodes: string; admin: Principal; tenants: string[]; dispose: () => Promise<void> }> {
  mkdirSync(DIR, { recursive: true });
  const reference = await referenceOnMiniflare();
  const { admin, vars } = await instanceSecrets();
  const custodes = await launchWorker({ workerDir: await unlimitedBundle(), bindings: vars });
  const url = custodes.url.origin;
  const setup = await mintTokens(admin, 20 + tenantCount * 2);
  for (let i = 0; i < tenantCount * 2; i++) await api(url, setup, 'POST', '/v1/admin/hosts', { name: `mf-host-${i}`, vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 });
  const tenants: string[] = [];
  for (let i = 0; i < tenantCount; i++) {
    const owner = await newPrincipal('pending');
    tenants.push((await api(url, setup, 'POST', '/v1/admin/tenants', { name: `mf-${i}`, ownerKey: publicOf(owner.jwk), quota: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 } })).id);
  }
  return { reference: reference.url, custodes: url, admin, tenants, dispose: async () => void (await Promise.all([custodes.mf.dispose(), reference.mf.dispose()])) };
}

export async function miniflareCeiling(): Promise<RuntimeCeiling> {
  const { reference, custodes: url, admin, tenants, dispose } = await miniflareInstances();
  try {
    const vmBody = (offset: number) => (n: number) => ({ name: `vm-${n + offset}`, vcpus: 1, memoryMiB: 128 });
    await load('warm-up', 16, { url: `${reference}/ok`, amount: 300 });
    await load('warm-up', 16, { url, amount: 200, requests: signedRequests(await mintTokens(admin, 300), 'POST', () => `/v1/admin/tenants/${tenants[0]}/vms`, vmBody(900_000)) });
    const ceiling = { ok: {}, insert: {}, audited: {} } as RuntimeCeiling;
    for (const [i, clients] of ([16, 64] as const).entries()) {
      ceiling.ok[clients] = await load('trivial Worker answering ok', clients, { url: `${reference}/ok` });
      ceiling.insert[clients] = await load('trivial Worker doing one D1 INSERT', clients, { url: `${reference}/insert`, method: 'POST', body: JSON.stringify({ name: 'vm', vcpus: 1, memoryMiB: 128 }) });
      ceiling.audited[clients] = await load('audited VM create, one tenant', clients, {
        url,
        requests: signedRequests(await mintTokens(admin, REQUESTS + 400), 'POST', () => `/v1/admin/tenants/${tenants[i]}/vms`, vmBody(i * 100_000)),
      });
    }
    return ceiling;
  } finally {
    await dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const c = await miniflareCeiling();
  for (const clients of [16, 64] as const) {
    for (const r of [c.ok[clients], c.insert[clients], c.audited[clients]]) console.log(`${r.title} @${clients}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, ${(r.rps / c.insert[clients].rps).toFixed(2)}× one-INSERT, ${r.unexpected} unexpected`);
  }
}
