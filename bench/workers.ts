/**
 * What the benchmarks share: private local Workers (own ports, own fresh D1s
 * under .bench/), principals with their keys, and signed API calls.
 */
import { idFromKeyId } from '../src/lib/ids';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

export const DIR = '.bench';
const wrangler = 'node_modules/.bin/wrangler';
const ENV = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

export interface Principal {
  id: string;
  jwk: JWK;
  kid: string;
  key: CryptoKey;
}

export async function newPrincipal(id: string): Promise<Principal> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { id, jwk, kid: await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'sha256'), key: (await importJWK(jwk, 'EdDSA')) as CryptoKey };
}

export async function mintTokens(p: Principal, count: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const claims = { iss: p.id, sub: p.id, aud: 'custodes', iat: now, exp: now + 900, jti: crypto.randomUUID(), scope: '' };
    tokens.push(await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: p.kid }).sign(p.key));
  }
  return tokens;
}

export const publicOf = ({ kty, crv, x }: JWK) => ({ kty, crv, x });

/**
 * The API's wrangler.toml with its rate limits raised out of reach: a bench
 * drives thousands of requests from one address and one principal, and
 * measures what the runtime serves, the limiter's own call included.
 */
export function unlimitedConfig(): string {
  const file = resolve('wrangler.bench.toml'); // beside wrangler.toml, so its relative paths hold
  writeFileSync(file, readFileSync('wrangler.toml', 'utf8').replace(/limit = \d+/g, 'limit = 100000000'));
  return file;
}

export async function startWorker(
  name: string,
  port: number,
  vars: Record<string, string>,
  config?: string,
  extraArgs: string[] = [],
  /** The D1 bindings to migrate (each gets every migration). */
  databases: string[] = ['DB'],
): Promise<{ url: string; child: ChildProcess }> {
  // Absolute: wrangler resolves some paths against the config file's folder.
  const state = resolve(DIR, name);
  const varsFile = resolve(DIR, `${name}.vars`);
  writeFileSync(
    varsFile,
    `${Object.entries(vars)
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n')}\n`,
  );
  const configArgs = config ? ['--config', config] : [];
  for (const database of databases) {
    const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', database, '--local', '--persist-to', state, ...configArgs], {
      env: ENV,
      encoding: 'utf8',
    });
    if (migrate.status !== 0) throw new Error(`migrations of ${database} failed:\n${migrate.stdout}${migrate.stderr}`);
  }
  const child = spawn(
    wrangler,
    [
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--persist-to',
      state,
      '--env-file',
      varsFile,
      '--log-level',
      process.env.BENCH_LOG ?? 'error',
      '--show-interactive-dev-session=false',
      ...configArgs,
      ...extraArgs,
    ],
    { env: ENV, stdio: ['ignore', process.env.BENCH_LOG ? 'inherit' : 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const up = await fetch(`${url}/v1/health`).then(
      () => true,
      () => false,
    );
    if (up) {
      const enrolment = pendingEnrolments.get(vars);
      if (enrolment) await enrolAdmin(url, enrolment);
      return { url, child };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error(`${name} did not start`);
}

export async function api(url: string, tokens: string[], method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tokens.pop()}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text.startsWith('{') ? JSON.parse(text) : text;
}

/** The SQLite file of a local Worker's D1 under `state` (its Worker stopped): for benches that write long histories directly. */
export function d1File(state: string): string {
  const dir = join(state, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const file = readdirSync(dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  if (!file) throw new Error(`no D1 database under ${dir}`);
  return join(dir, file);
}

/** Instances whose admin the bootstrap key enrols once they answer (`startWorker`), by their vars. */
const pendingEnrolments = new WeakMap<Record<string, string>, { bootstrap: Principal; admin: Principal }>();

/**
 * What a fresh instance is started with: a bootstrap key, the admin it enrols
 * with every role as soon as the instance answers (the bootstrap ceremony,
 * docs/design.md §7: a bootstrap key only enrols), an audit signing key, and
 * the vars that carry their public and private halves. The admin's id follows
 * from its key, as every ceremony enrolment's does.
 */
export async function instanceSecrets(extraVars: Record<string, string> = {}): Promise<{ admin: Principal; auditKey: JWK; vars: Record<string, string> }> {
  const bootstrap = await newPrincipal('adm_bootstrap');
  const enrolled = await newPrincipal('pending');
  const admin = { ...enrolled, id: idFromKeyId('adm', enrolled.kid) };
  const auditKey = (await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey)) as JWK;
  const vars = { BOOTSTRAP_ADMIN_JWK: JSON.stringify({ keys: [publicOf(bootstrap.jwk)] }), AUDIT_SIGNING_JWK: JSON.stringify(auditKey), ...extraVars };
  pendingEnrolments.set(vars, { bootstrap, admin });
  return { admin, auditKey, vars };
}

/** For an instance started otherwise than by `startWorker` (Miniflare, bench/runtimes.ts): its admin, enrolled now. */
export async function enrolInstanceAdmin(url: string, vars: Record<string, string>): Promise<void> {
  const enrolment = pendingEnrolments.get(vars);
  if (!enrolment) throw new Error('no admin to enrol: these vars are not from instanceSecrets()');
  await enrolAdmin(url, enrolment);
}

/** The bootstrap key enrols the instance's admin (again on a restart: a key enrolled already is `resource_in_use`, which is fine). */
async function enrolAdmin(url: string, { bootstrap, admin }: { bootstrap: Principal; admin: Principal }): Promise<void> {
  const [token] = await mintTokens(bootstrap, 1);
  const res = await fetch(`${url}/v1/admin/admins`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'bench-admin', publicKey: publicOf(admin.jwk), roles: ['provisioner', 'operator', 'auditor', 'security'] }),
  });
  // 404: a bench Worker that is not the API (the baseline, the reference) shares these vars and has no admins.
  if (![201, 404, 409].includes(res.status)) throw new Error(`enrolling the bench admin: ${res.status} ${await res.text()}`);
}

/** Stops a Worker started by `startWorker` and waits until it has exited. */
export async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The workerd processes under `root` (default: this process; wrangler dev's or Miniflare's child tree), as /proc shows them. */
export function workerdProcesses(root = process.pid): { pid: number; stat: string }[] {
  const stats = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return [{ pid: Number(pid), stat, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(fields[1]) }];
      } catch {
        return []; // gone meanwhile
      }
    });
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const under = (s: { ppid: number }): boolean => s.ppid === root || (byPid.has(s.ppid) && under(byPid.get(s.ppid)!));
  return stats.filter((s) => s.comm === 'workerd' && under(s)).map(({ pid, stat }) => ({ pid, stat }));
}

/** CPU ms (user + system) a process has used, from its /proc stat line. */
function cpuMsOfStat(stat: string): number {
  const hz = 100; // USER_HZ on Linux
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / hz;
}

/** CPU ms (user + system) of the workerd processes under `root`, from /proc. */
export const workerdCpuMs = (root = process.pid): number => workerdProcesses(root).reduce((sum, { stat }) => sum + cpuMsOfStat(stat), 0);

/** CPU ms (user + system) process `pid` has used so far: one instance's workerd alone when several run. */
export const cpuMsOf = (pid: number): number => cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** A tenant slice and a host size that a bench's thousands of one-vCPU creates never fill. */
export const ROOMY = { vcpus: 4096, memoryMiB: 64 * 1024 * 1024, diskGiB: 100_000 };

/** `hosts` roomy hosts and `tenants` roomy tenants on the instance at `url`, for a bench to create VMs in; answers the tenants' ids. */
export async function roomForCreates(
  url: string,
  admin: Principal,
  { hosts, tenants, name }: { hosts: number; tenants: number; name: string },
): Promise<string[]> {
  const setup = await mintTokens(admin, hosts + tenants);
  for (let i = 0; i < hosts; i++) await api(url, setup, 'POST', '/v1/admin/hosts', { name: `${name}-host-${i}`, ...ROOMY });
  const ids: string[] = [];
  for (let i = 0; i < tenants; i++) {
    const owner = await newPrincipal('pending');
    ids.push((await api(url, setup, 'POST', '/v1/admin/tenants', { name: `${name}-${i}`, ownerKey: publicOf(owner.jwk), quota: ROOMY })).id);
  }
  return ids;
}
