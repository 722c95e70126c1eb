#!/usr/bin/env node
/**
 * `npm start`: a local Custodes on an embedded D1, from a fresh clone, in
 * seconds.
 *  1. creates dev keys when absent (docs/design.md §8): `.dev.vars` with the bootstrap
 *     admins' public JWKS and the audit signing key, and the admins' private
 *     keys in `.custodes/` (all git-ignored);
 *  2. builds the Worker as a deployment would upload it (`wrangler deploy
 *     --dry-run`, scripts/build-worker.ts; skipped when nothing changed);
 *  3. runs that bundle in workerd through Miniflare with the bindings wrangler
 *     itself derives from wrangler.toml (src/testing/runtime.ts), state in
 *     `.wrangler/state` (or CUSTODES_STATE) across restarts, and applies the
 *     migrations it has not seen, counting exactly those;
 *  4. enrols two admins with every role through the bootstrap ceremony
 *     (docs/design.md §7, §8; src/testing/enrolment.ts): keys in
 *     `.custodes/admin.jwk` and `admin-2.jwk`, ids in `.custodes/admins.json`;
 *     the bootstrap keys retire;
 *  5. serves on http://127.0.0.1:8787 (CUSTODES_PORT; 0 picks a free port) in
 *     emulator mode (the /_emulator controls, behind a control token made for
 *     this start and written to .custodes/emulator-token), and once it answers
 *     prints where the admin key is and a first command to try. The
 *     emulator's clock and fault rules start clean unless
 *     CUSTODES_KEEP_CONTROLS=1 keeps those of the last run (the banner says so).
 * CUSTODES_HOST binds elsewhere than 127.0.0.1; anything beyond loopback is
 * refused unless CUSTODES_EXPOSE=1 says it is meant, and the banner warns.
 * Why not `wrangler dev`: the same bundle and bindings, without its 10–30 s of
 * start-up (docs/decisions.md, "npm start on Miniflare"); `npm run dev` is
 * wrangler dev, for live reload.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error plain JavaScript (it runs on `npm ci`, before any TypeScript tooling), without declarations
import { vendorAssets } from './vendor-assets.js';
// @ts-expect-error plain JavaScript, no declarations
import { buildConsole } from './build-console.js';
import { buildWorker } from './build-worker.ts';
import { networkInterfaces, hostname } from 'node:os';
import { launchWorker, newControlToken } from '../src/testing/runtime.ts';
import { enrolReadyAdmins } from '../src/testing/enrolment.ts';
import type { JWK } from 'jose';

const HOST = process.env.CUSTODES_HOST ?? '127.0.0.1';
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;
const EXPOSED = !LOOPBACK.test(HOST);
if (EXPOSED && process.env.CUSTODES_EXPOSE !== '1') {
  console.error(`CUSTODES_HOST=${HOST} would serve the emulator — its controls, its admin-less seed and every tenant's API — to other machines.`);
  console.error('Set CUSTODES_EXPOSE=1 as well if that is what you mean; otherwise leave CUSTODES_HOST unset (127.0.0.1).');
  process.exit(2);
}
const PORT = process.env.CUSTODES_PORT ?? '8787';
/** Where the local D1 and logs live; a second instance (the end-to-end test) uses its own. */
const STATE = process.env.CUSTODES_STATE ?? '.wrangler/state/custodes';
const ADMIN_KEY_FILES = ['.custodes/bootstrap-admin.jwk', '.custodes/bootstrap-admin-2.jwk'];
/** The two enrolled admins (docs/design.md §8): their keys, and their ids by name. */
const ENROLLED_KEY_FILES = ['.custodes/admin.jwk', '.custodes/admin-2.jwk'] as const;
const ENROLLED_NAMES = ['admin', 'admin-2'] as const;
const ADMINS_FILE = '.custodes/admins.json';

async function newKey() {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'sha256'), alg: 'EdDSA' };
}

const publicOnly = ({ kty, crv, x, kid, alg }: Record<string, unknown>) => ({ kty, crv, x, kid, alg, use: 'sig' });

function writePrivate(path: string, text: string) {
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
  for (const [i, key] of admins.entries()) writePrivate(ADMIN_KEY_FILES[i]!, `${JSON.stringify(key, null, 2)}\n`);
  const auditKey = await newKey();
  const lines = [
    '# Local secrets for `wrangler dev`, made by `npm start`. Never commit.',
    `BOOTSTRAP_ADMIN_JWK='${JSON.stringify({ keys: admins.map(publicOnly) })}'`,
    `AUDIT_SIGNING_JWK='${JSON.stringify(auditKey)}'`,
  ];
  writePrivate('.dev.vars', `${vars}${vars && !vars.endsWith('\n') ? '\n' : ''}${lines.join('\n')}\n`);
  return true;
}

const created = await ensureDevKeys();
console.log(created ? 'Created dev keys: .dev.vars and .custodes/bootstrap-admin{,-2}.jwk' : 'Using the dev keys in .dev.vars and .custodes/');
vendorAssets(); // again, in case npm ci ran with --ignore-scripts
await buildConsole(); // the console's bundle, served at /console/ (src/console)
const { dir, built } = await buildWorker();
// A new control token every start (src/emulator/guard.ts): `custodes emulator …` reads it from here.
const controlToken = newControlToken();
mkdirSync('.custodes', { recursive: true, mode: 0o700 });
writePrivate('.custodes/emulator-token', `${controlToken}\n`);
/** Bound beyond loopback on purpose: the names and addresses other machines will use for it. */
const reachableAs = () =>
  [
    HOST,
    hostname(),
    ...Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => (i.family === 'IPv6' ? `[${i.address}]` : i.address))),
  ].join(',');
if (built) console.log('Built the Worker (wrangler deploy --dry-run) into dist/worker.');
const KEEP_CONTROLS = process.env.CUSTODES_KEEP_CONTROLS === '1';
const {
  mf,
  url: served,
  applied,
  controls,
} = await launchWorker({
  workerDir: dir,
  keepControls: KEEP_CONTROLS,
  host: HOST,
  port: Number(PORT),
  persistPath: STATE,
  assetsDir: 'public',
  bindings: {
    ...devVars(),
    CUSTODES_EMULATOR: 'on',
    EMULATOR_CONTROL_TOKEN: controlToken,
    ...(EXPOSED ? { CUSTODES_EXPOSED: 'on', CUSTODES_ALLOWED_HOSTS: reachableAs() } : {}),
  },
});
console.log(applied.length ? `Applied ${applied.length} migration(s) to the local D1: ${applied.join(', ')}.` : 'Local D1 is up to date.');
const url = EXPOSED ? `http://127.0.0.1:${served.port}` : served.origin;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void mf.dispose().then(() => process.exit(0)));

const health = await fetch(`${url}/v1/health`);
if (!health.ok) {
  console.error(`The Worker answered its health check with ${health.status}: ${await health.text()}`);
  process.exit(1);
}
const enrolled = await enrolAdmins();

/**
 * Two admins with every role, enrolled by the bootstrap key through the
 * ceremony (which retires the bootstrap keys): keys in .custodes/admin.jwk and
 * admin-2.jwk (made when absent), ids in .custodes/admins.json. Kept as they
 * are when still enrolled (a restart).
 */
async function enrolAdmins() {
  const keys = (await Promise.all(
    ENROLLED_KEY_FILES.map(async (file) => {
      if (!existsSync(file)) writePrivate(file, `${JSON.stringify(await newKey(), null, 2)}\n`);
      return JSON.parse(readFileSync(file, 'utf8')) as JWK;
    }),
  )) as [JWK, JWK];
  const known = existsSync(ADMINS_FILE) ? (JSON.parse(readFileSync(ADMINS_FILE, 'utf8')) as Record<string, string>) : {};
  const bootstrapKey = JSON.parse(readFileSync(ADMIN_KEY_FILES[0]!, 'utf8')) as JWK;
  try {
    const admins = await enrolReadyAdmins(
      url,
      bootstrapKey,
      keys,
      ENROLLED_NAMES.map((name) => known[name]),
      ENROLLED_NAMES,
    );
    writeFileSync(ADMINS_FILE, `${JSON.stringify(Object.fromEntries(ENROLLED_NAMES.map((name, i) => [name, admins[i]!.id])), null, 2)}\n`);
    return admins;
  } catch (error) {
    console.error(`Could not enrol the local admins: ${(error as Error).message}`);
    console.error(`Delete ${STATE} (its database) to start over, or restore the keys in ${ENROLLED_KEY_FILES.join(' and ')}.`);
    process.exit(1);
  }
}
if (EXPOSED) {
  console.warn(`
WARNING: bound to ${HOST}:${served.port} (CUSTODES_EXPOSE=1): other machines can reach this emulator's API.
         Its controls still need the control token in .custodes/emulator-token; client addresses are not recorded.`);
}
console.log(`
Custodes is serving on ${url}  (docs: ${url}/docs, spec: ${url}/openapi.json, console: ${url}/console/)
Emulator controls: npx custodes emulator --help  (reset, seed, faults, clock, recorder, export, import; token in .custodes/emulator-token)${activeControls()}
Admins (every role; the two-person rule needs both), ids in ${ADMINS_FILE}:
  ${enrolled[0].id}  key ${ENROLLED_KEY_FILES[0]}  (the CLI's default)
  ${enrolled[1].id}  key ${ENROLLED_KEY_FILES[1]}
The bootstrap keys (${ADMIN_KEY_FILES.join(', ')}) enrolled them and are now retired.
Try a first authenticated call:
  npx custodes admin hosts list${url === 'http://127.0.0.1:8787' ? '' : ` --url ${url}`}
`);

/** The clock and fault rules a kept state brought back (CUSTODES_KEEP_CONTROLS=1): a start otherwise clears them. */
function activeControls(): string {
  const active = [
    ...(controls.clockOffsetMs
      ? [`the clock is ${controls.clockOffsetMs / 1000} s ${controls.clockOffsetMs > 0 ? 'ahead' : 'behind'} (npx custodes emulator clock reset)`]
      : []),
    ...(controls.faults ? [`${controls.faults} fault rule(s) in force (npx custodes emulator faults list)`] : []),
  ];
  return active.length ? `\nKept from the last run (CUSTODES_KEEP_CONTROLS=1): ${active.join('; ')}` : '';
}

/** `.dev.vars` as wrangler reads it: KEY=value lines, values optionally quoted. */
function devVars(): Record<string, string> {
  const text = existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : '';
  return Object.fromEntries(
    [...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)].map(([, name, raw]) => [
      name!,
      /^(['"]).*\1$/.test(raw!.trim()) ? raw!.trim().slice(1, -1) : raw!.trim(),
    ]),
  );
}
