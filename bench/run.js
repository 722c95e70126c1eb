#!/usr/bin/env node
/**
 * `npm run bench`: starts a private local instance (own port, own fresh D1),
 * drives it with concurrent clients (autocannon) and prints req/s and latency
 * percentiles per scenario, each with its ratio to the unauthenticated health
 * check. Tokens are single-use, so every authenticated request gets a token
 * minted beforehand. The report is also written to bench/RESULTS.md.
 *
 * Options (env): BENCH_CONNECTIONS (16), BENCH_REQUESTS (4000 per scenario).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';

const PORT = Number(process.env.BENCH_PORT ?? 8799);
const URL_BASE = `http://127.0.0.1:${PORT}`;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000);
const DIR = '.bench';
const wrangler = 'node_modules/.bin/wrangler';

async function adminKey() {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'sha256');
  return { jwk, kid, key: await importJWK(jwk, 'EdDSA') };
}

async function mintTokens(admin, count) {
  const now = Math.floor(Date.now() / 1000);
  const tokens = [];
  for (let i = 0; i < count; i++) {
    tokens.push(
      await new SignJWT({ scope: '' })
        .setProtectedHeader({ alg: 'EdDSA', kid: admin.kid })
        .setIssuer('adm_bootstrap')
        .setSubject('adm_bootstrap')
        .setAudience('custodes')
        .setIssuedAt(now)
        .setExpirationTime(now + 900)
        .setJti(crypto.randomUUID())
        .sign(admin.key),
    );
  }
  return tokens;
}

async function startServer(admin) {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const { d: _d, ...pub } = admin.jwk;
  writeFileSync(`${DIR}/bench.vars`, `BOOTSTRAP_ADMIN_JWK='${JSON.stringify({ keys: [pub] })}'\n`);
  const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
  const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', `${DIR}/state`], { env, encoding: 'utf8' });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}${migrate.stderr}`);
  const child = spawn(
    wrangler,
    ['dev', '--ip', '127.0.0.1', '--port', String(PORT), '--persist-to', `${DIR}/state`, '--env-file', `${DIR}/bench.vars`, '--log-level', 'error', '--show-interactive-dev-session=false'],
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${URL_BASE}/v1/health`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error('the benchmark server did not start');
}

async function api(tokens, method, path, body) {
  const res = await fetch(`${URL_BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tokens.pop()}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

function run(title, options) {
  return new Promise((resolve, reject) => {
    autocannon({ url: URL_BASE, connections: CONNECTIONS, amount: REQUESTS, ...options }, (error, result) => {
      if (error) return reject(error);
      const unexpected = result.non2xx + result.errors + result.timeouts;
      resolve({
        title,
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        requests: result.requests.total,
        unexpected,
      });
    });
  });
}

const admin = await adminKey();
const server = await startServer(admin);
try {
  const setupTokens = await mintTokens(admin, 100);
  for (let i = 0; i < 8; i++) await api(setupTokens, 'POST', '/v1/admin/hosts', { name: `bench-host-${i}`, vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 });
  const tenants = [];
  for (let i = 0; i < 2; i++) {
    const owner = await adminKey();
    const { d: _d, ...ownerKey } = owner.jwk;
    tenants.push(await api(setupTokens, 'POST', '/v1/admin/tenants', { name: `bench-tenant-${i}`, ownerKey, quota: { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100000 } }));
  }

  const listTokens = await mintTokens(admin, REQUESTS + CONNECTIONS * 4);
  const createTokens = await mintTokens(admin, REQUESTS + CONNECTIONS * 4);
  let vmCounter = 0;
  const results = [];
  results.push(await run('GET /v1/health', { url: `${URL_BASE}/v1/health` }));
  results.push(
    await run('GET /v1/admin/hosts (auth)', {
      requests: [{ method: 'GET', path: '/v1/admin/hosts', setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${listTokens.pop()}` } }) }],
    }),
  );
  results.push(
    await run('POST VM create (auth)', {
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const n = vmCounter++;
            return {
              ...req,
              path: `/v1/admin/tenants/${tenants[n % tenants.length].id}/vms`,
              headers: { ...req.headers, authorization: `Bearer ${createTokens.pop()}`, 'content-type': 'application/json' },
              body: JSON.stringify({ name: `vm-${n}`, vcpus: 1, memoryMiB: 512 }),
            };
          },
        },
      ],
    }),
  );

  const base = results[0];
  const header = '| scenario | requests | req/s | p50 ms | p99 ms | req/s ÷ health | p50 ÷ health | non-2xx/errors |';
  const rows = results.map(
    (r) =>
      `| ${r.title} | ${r.requests} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${(r.rps / base.rps).toFixed(2)} | ${(r.p50 / Math.max(base.p50, 1)).toFixed(1)} | ${r.unexpected} |`,
  );
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const report = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} by \`npm run bench\` on ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}.`,
    `Local \`wrangler dev\` (workerd + embedded D1), ${CONNECTIONS} concurrent connections, ${REQUESTS} requests per scenario. Every authenticated request carries its own freshly minted token (single-use \`jti\`).`,
    '',
    header,
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  console.log(report);
  writeFileSync(new URL('./RESULTS.md', import.meta.url), report);
  if (results.some((r) => r.unexpected > 0)) {
    console.error('Some requests failed: the figures above are not comparable.');
    process.exitCode = 1;
  }
} finally {
  server.kill();
}
