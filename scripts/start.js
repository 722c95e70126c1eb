#!/usr/bin/env node
/**
 * `npm start`: a local Custodes on an embedded D1, from a fresh clone.
 *  1. creates dev keys when absent (DESIGN §8): `.dev.vars` with the bootstrap
 *     admins' public JWKS and the audit signing key, and the admins' private
 *     keys in `.custodes/` (all git-ignored);
 *  2. applies the D1 migrations to the local database (state persists in
 *     `.wrangler/state` across restarts);
 *  3. serves the Worker on http://127.0.0.1:8787 and, once it answers,
 *     prints where the admin key is and a first command to try.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { vendorAssets } from './vendor-assets.js';

const HOST = process.env.CUSTODES_HOST ?? '127.0.0.1';
const PORT = process.env.CUSTODES_PORT ?? '8787';
/** Where the local D1 lives; a second instance (the end-to-end test) uses its own. */
const STATE = process.env.CUSTODES_STATE;
const persist = STATE ? ['--persist-to', STATE] : [];
const ADMIN_KEY_FILES = ['.custodes/bootstrap-admin.jwk', '.custodes/bootstrap-admin-2.jwk'];
const wrangler = 'node_modules/.bin/wrangler';

async function newKey() {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'sha256'), alg: 'EdDSA' };
}

const publicOnly = ({ kty, crv, x, kid, alg }) => ({ kty, crv, x, kid, alg, use: 'sig' });

function writePrivate(path, text) {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function ensureDevKeys() {
  const vars = existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : '';
  if (/^BOOTSTRAP_ADMIN_JWK=/m.test(vars) && ADMIN_KEY_FILES.every(existsSync)) return false;
  if (/^BOOTSTRAP_ADMIN_JWK=/m.test(vars)) {
    console.error('.dev.vars names bootstrap admins but their key files in .custodes/ are missing.');
    console.error('Delete .dev.vars (and .wrangler/state for a clean database) to create new ones.');
    process.exit(1);
  }
  mkdirSync('.custodes', { recursive: true, mode: 0o700 });
  const admins = [await newKey(), await newKey()];
  admins.forEach((key, i) => writePrivate(ADMIN_KEY_FILES[i], `${JSON.stringify(key, null, 2)}\n`));
  const auditKey = await newKey();
  const lines = [
    '# Local secrets for `wrangler dev`, made by `npm start`. Never commit.',
    `BOOTSTRAP_ADMIN_JWK='${JSON.stringify({ keys: admins.map(publicOnly) })}'`,
    `AUDIT_SIGNING_JWK='${JSON.stringify(auditKey)}'`,
  ];
  writePrivate('.dev.vars', `${vars}${vars && !vars.endsWith('\n') ? '\n' : ''}${lines.join('\n')}\n`);
  return true;
}

function applyMigrations() {
  const result = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', ...persist], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    console.error('Applying the D1 migrations failed.');
    process.exit(result.status ?? 1);
  }
  const applied = (result.stdout.match(/✅/g) ?? []).length;
  console.log(applied ? `Applied ${applied} migration(s) to the local D1.` : 'Local D1 is up to date.');
}

async function waitUntilHealthy(url, child) {
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

const created = await ensureDevKeys();
console.log(created ? 'Created dev keys: .dev.vars and .custodes/bootstrap-admin{,-2}.jwk' : 'Using the dev keys in .dev.vars and .custodes/');
vendorAssets(); // again, in case npm ci ran with --ignore-scripts
applyMigrations();

const url = `http://${HOST}:${PORT}`;
const child = spawn(wrangler, ['dev', '--ip', HOST, '--port', PORT, '--show-interactive-dev-session=false', ...persist], {
  stdio: ['ignore', 'inherit', 'inherit'],
  // No Request.cf download: the emulator needs no real edge metadata (and may be offline).
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));

if (await waitUntilHealthy(url, child)) {
  console.log(`
Custodes is serving on ${url}  (docs: ${url}/docs, spec: ${url}/openapi.json)
Bootstrap admins (every role; the two-person rule needs both):
  adm_bootstrap   key ${ADMIN_KEY_FILES[0]}
  adm_bootstrap2  key ${ADMIN_KEY_FILES[1]}
Try a first authenticated call:
  npx custodes admin hosts list --key ${ADMIN_KEY_FILES[0]} --iss adm_bootstrap${url === 'http://127.0.0.1:8787' ? '' : ` --url ${url}`}
`);
}
