/**
 * The generator matrix: openapi.yaml through three generators, each client
 * type-checked by tsc with a program that uses it as a tenant would — a list,
 * an `:action` path (`…/vms/{vm}:start`), a page write and the exact-version
 * read whose `{index}` path parameter once came out optional — with a fresh
 * single-use token per request through the generator's own auth hook. The
 * hey-api client also runs a tenant flow against the real app
 * (test/node/start.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { GENERATORS, type GeneratorName } from './support/generators';

// Inside the checkout, so the programs resolve openapi-fetch from its node_modules.
mkdirSync(resolve('.generated'), { recursive: true });
const root = mkdtempSync(join(resolve('.generated'), 'matrix-'));
after(() => rmSync(root, { recursive: true, force: true }));

const MINT = 'declare function mintToken(): Promise<string>;\ndeclare const tenant: string, vm: string, envelope: string;\n';

/** A tenant program per generator, in that generator's idiom. */
const PROGRAMS: Record<GeneratorName, string> = {
  'hey-api': `${MINT}
import { client } from './client/client.gen';
import { listTenantVms, readMemoryPageVersion, startTenantVm, writeMemoryPages } from './client/sdk.gen';
// The auth hook runs per request: a fresh single-use token each time.
client.setConfig({ baseUrl: 'http://127.0.0.1:8787', auth: () => mintToken() });
const vms = await listTenantVms({ path: { tenant }, throwOnError: true });
const started = await startTenantVm({ path: { tenant, vm }, throwOnError: true });
const written = await writeMemoryPages({ path: { tenant, vm }, body: { pages: [{ index: 0, envelope }] }, throwOnError: true });
const old = await readMemoryPageVersion({ path: { tenant, vm, index: 0, version: 1 }, throwOnError: true });
export const seen: [string, string, number, number] = [vms.data.vms[0]!.id, started.data.state, written.data.pages[0]!.version, old.data.version];
`,
  orval: `${MINT}
import { listTenantVms, readMemoryPageVersion, startTenantVm, writeMemoryPages } from './custodes';
// orval's fetch functions take RequestInit: the token goes in per call.
const auth = async (): Promise<RequestInit> => ({ headers: { Authorization: \`Bearer \${await mintToken()}\` } });
const vms = await listTenantVms(tenant, undefined, await auth());
const started = await startTenantVm(tenant, vm, await auth());
const written = await writeMemoryPages(tenant, vm, { pages: [{ index: 0, envelope }] }, await auth());
const old = await readMemoryPageVersion(tenant, vm, 0, 1, await auth());
export const seen = [vms.status, started.status, written.status, old.status];
`,
  'openapi-typescript': `${MINT}
import createClient from 'openapi-fetch';
import type { paths } from './schema';
const api = createClient<paths>({ baseUrl: 'http://127.0.0.1:8787' });
// openapi-fetch middleware runs per request: a fresh single-use token each time.
api.use({ onRequest: async ({ request }) => (request.headers.set('Authorization', \`Bearer \${await mintToken()}\`), request) });
const vms = await api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } });
const started = await api.POST('/v1/tenants/{tenant}/vms/{vm}:start', { params: { path: { tenant, vm } } });
const written = await api.PUT('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant, vm } }, body: { pages: [{ index: 0, envelope }] } });
const old = await api.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages/{index}/versions/{version}', { params: { path: { tenant, vm, index: 0, version: 1 } } });
export const seen = [vms.data?.vms[0]?.id, started.data?.state, written.data?.pages[0]?.version, old.data?.version];
`,
};

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    lib: ['ES2023', 'DOM', 'DOM.Iterable'],
    types: [],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    allowImportingTsExtensions: true,
  },
  include: ['**/*.ts'],
};

describe('generated clients', () => {
  for (const name of Object.keys(GENERATORS) as GeneratorName[]) {
    it(`${name}: generates from openapi.yaml, and a tenant program using it type-checks`, { timeout: 120_000 }, () => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      GENERATORS[name](name === 'hey-api' ? join(dir, 'client') : dir);
      writeFileSync(join(dir, 'program.ts'), PROGRAMS[name]);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
      const tsc = spawnSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
      assert.equal(tsc.status, 0, `${name}: tsc\n${tsc.stdout}${tsc.stderr}`);
    });
  }
});
