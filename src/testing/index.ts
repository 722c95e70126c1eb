/**
 * `custodes/testing`: Custodes in a tenant's own test suite (vitest,
 * node:test, jest — on Node 20 or 22).
 *
 *     const emu = await startCustodes();
 *     const { tenant, vm, owner, toolstack } = await emu.provisionTenant();
 *     …
 *     await emu.close();
 *
 * Each call starts its own Worker in Miniflare on a free port — in memory
 * unless `persist` names a directory — with the schema applied and two admins
 * enrolled through the bootstrap ceremony, in emulator mode: the controls (reset, seed, faults,
 * clock, recorder) are methods here. Instances run side by side.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JWK } from 'jose';
import { createApiClient, type ApiClient, type ApiClientOptions, type components } from '../sdk/client.ts';
import { generatePrincipalKey, publicKeyOf } from '../sdk/keys.ts';
import { launchWorker, newControlToken } from './runtime.ts';
import { enrolReadyAdmins, type EnrolledAdmin } from './enrolment.ts';

export interface StartOptions {
  /**
   * A directory to keep D1, the logs and the keys in across starts; default in memory.
   * The first start writes the instance's keys there (`custodes-keys.json`: the audit
   * signing key, the bootstrap keys and the two enrolled admins' private JWKs and ids,
   * mode 0600); every later start from the same directory runs with them, so the log goes
   * on under the same key and the same admins.
   */
  persist?: false | string;
  /** Default 0: a free port. */
  port?: number;
  host?: string;
  /** More Worker vars, e.g. `{ CHANGE_TTL_HOURS: '1' }`. */
  bindings?: Record<string, string>;
  /** The built Worker (manifest.json, index.js, migrations/); default the one this package ships. */
  workerDir?: string;
  /** The two bootstrap admins' private JWKs; default the persisted ones (see `persist`), else two new ones. */
  adminKeys?: [JWK, JWK];
  /**
   * Start from a saved state (`emu.snapshot()`, `custodes emulator export`): a file path or
   * the document itself. The instance runs with the file's audit key (and its admins' keys
   * when the file holds them), and serves the state before this returns.
   */
  from?: string | EmulatorState;
  /** Keep the clock offset and fault rules a persisted state holds. Default: each start clears them. */
  keepControls?: boolean;
  /** A directory of static assets to serve before the Worker, as `npm start` serves public/ (the docs' bundle, the console). Default: none. */
  assets?: string;
}

export interface Principal {
  id: string;
  /** The private JWK: it never leaves your process. */
  key: JWK;
}

export interface ProvisionOptions {
  name?: string;
  quota?: { vcpus: number; memoryMiB: number; diskGiB: number };
  vm?: { vcpus: number; memoryMiB: number };
  /** The toolstack's scope ceiling (default every content scope and `audit:read`). */
  scopes?: string[];
}

export interface ProvisionedTenant {
  tenant: string;
  vm: string;
  host: string;
  owner: Principal & { api: ApiClient };
  toolstack: Principal & { api: ApiClient };
}

export type FaultRule =
  | { kind: 'latency'; route: string; ms: number; probability?: number; times?: number }
  | { kind: 'problem'; route: string; status: 429 | 500 | 503; probability?: number; times?: number }
  | { kind: 'audit-batch'; route: string; probability?: number; times?: number }
  | { kind: 'crash-after-commit'; route: string; probability?: number; times?: number }
  /**
   * Integrity faults: this instance lies as a dishonest provider would, so your suite can
   * prove your integration notices (an older envelope under the current version, written
   * pages withheld, a record altered, the newest record dropped with a freshly signed checkpoint).
   */
  | { kind: 'stale-content' | 'withhold-content' | 'rewrite-record' | 'drop-newest-record' | 'split-view'; route: string; probability?: number; times?: number }
  /** A bootstrap admin's key replaced under the running instance (default admin 2); the emulator makes the new key. */
  | { kind: 'swap-bootstrap-key'; route: string; admin?: number }
  /**
   * The provider restores a backup: the whole store is copied when the rule is set, and put
   * back at the first request matching `route` (then `times` more, default once) — an older,
   * consistent world signed by the same key. Tenant-held evidence (a saved audit state, a
   * keystore's own writes) is what notices.
   */
  | { kind: 'rollback-store'; route: string; probability?: number; times?: number };

export interface Custodes {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** This instance's control token: every `/_emulator` call carries it (`Authorization: Bearer …`; `CUSTODES_EMULATOR_TOKEN` for the CLI). */
  controlToken: string;
  /**
   * Two enrolled admins with every role: the two-person rule needs both. The bootstrap key
   * enrolled them at start (docs/design.md §7), which retired the bootstrap keys.
   */
  admins: [Principal, Principal];
  /** The bootstrap keys (`adm_bootstrap`, `adm_bootstrap2`): retired once the admins above were enrolled. */
  bootstrapAdmins: [Principal, Principal];
  /** A typed SDK client signing as `principal`, its tokens on the emulator's clock. */
  client(principal: Principal, options?: Partial<ApiClientOptions>): ApiClient;
  /** A host, a tenant owned by a fresh key, one VM and one toolstack with its own key: one call. */
  provisionTenant(options?: ProvisionOptions): Promise<ProvisionedTenant>;
  /** Every table emptied, fresh logs (the enrolled admins stay). */
  reset(): Promise<void>;
  /** Loads a fixture through the real API (audited); answers the ids by name. */
  seed(fixture: unknown): Promise<SeedReport>;
  faults: { set(rules: FaultRule[]): Promise<void>; clear(): Promise<void> };
  /** The server's clock: moved (either way), set to an instant, or put back on real time; the clients here follow it. */
  clock: { advance(seconds: number): Promise<void>; set(instant: Date | string): Promise<void>; reset(): Promise<void>; now(): number };
  recorder: { entries(): Promise<RecordedExchange[]>; har(): Promise<{ log: { entries: unknown[] } }>; clear(): Promise<void> };
  /** `GET /v1/info`. */
  info(): Promise<ServerInfo>;
  /**
   * The whole state — D1, every log, the audit key and the admins' keys — as one versioned
   * document, written to `file` (mode 0600) when given. `startCustodes({ from })` starts from it;
   * `custodes emulator import` loads it into an instance with the same audit key.
   */
  snapshot(file?: string): Promise<EmulatorState>;
  /** Milliseconds from the call to a served health check. */
  readonly startupMs: number;
  close(): Promise<void>;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The packaged Worker (`<package>/worker`), or in this repository the one `npm run build:worker` makes. */
function defaultWorkerDir(): string {
  for (const dir of [here('../worker/'), here('../../dist/worker/')]) if (existsSync(`${dir}/manifest.json`)) return dir;
  throw new Error('No built Worker found: run `npm run build:worker` (this package ships one in worker/).');
}

/** `GET /v1/info`: version, mode, clock and faults, the effective configuration, the limits. */
export type ServerInfo = components['schemas']['ServerInfo'];

/** What `seed` made, by the names the fixture gave. */
export interface SeedReport {
  hosts: Record<string, string>;
  tenants: Record<string, { id: string; vms: Record<string, string>; toolstacks: Record<string, string>; labels: string[] }>;
  /** The request id of every step, in order: each has its record in the logs. */
  requests: string[];
}

/** One request and its answer, as the recorder keeps them (tokens, envelopes, JWS and wrapped keys redacted). */
export interface RecordedExchange {
  id: number;
  startedAt: string;
  durationMs: number;
  method: string;
  url: string;
  status: number;
  request: { headers: [string, string][]; body: string | null; contentType: string | null };
  response: { headers: [string, string][]; body: string | null; contentType: string | null };
  /** The Custodes-Audit header: where its record is (or its receipt). */
  audit: string | null;
  requestId: string | null;
  /** A webhook delivery the emulator made: the tenant whose alert it was. */
  tenant?: string;
}

/** A control the emulator refused: the problem it answered, its `errors` (which field, what is wrong) in the message too. */
export class EmulatorControlError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    readonly problem: { code?: string; detail?: string; errors?: { path: string; message: string }[] },
  ) {
    const errors = (problem.errors ?? []).map((e) => `\n  ${e.path || '(body)'}: ${e.message}`).join('');
    super(`/_emulator/${path}: ${status} ${problem.code ?? ''} ${problem.detail ?? ''}${errors}`);
    this.name = 'EmulatorControlError';
  }
}

/** A saved state (src/emulator/state-file.ts): what `snapshot()` answers and `from` takes. */
export interface EmulatorState {
  format: 'custodes-emulator-state';
  version: number;
  exportedAt: string;
  migrations: string[];
  auditKey: JWK;
  bootstrapAdmins: JWK[];
  adminKeys?: JWK[];
  /** The two enrolled admins (`snapshot()` adds them): a new instance from the file signs as them. */
  enrolledAdmins?: EnrolledAdmin[];
  tables: Record<string, { columns: string[]; rows: unknown[][] }>;
}

/** The keys an instance runs with, as `persist` keeps them. */
interface InstanceKeys {
  format: 'custodes-instance-keys';
  auditKey: JWK;
  /** The bootstrap keys (env): they enrol the two admins below, then retire. */
  adminKeys: [JWK, JWK];
  /** The two enrolled admins: their keys, and their ids once enrolled. */
  enrolled: [{ id?: string; key: JWK }, { id?: string; key: JWK }];
}

const KEYS_FILE = 'custodes-keys.json';

/**
 * The instance's keys: those given, else those kept in the persisted
 * directory, else new ones — written there so the next start finds them (a
 * new audit key on a persisted log would need a two-person hand-over).
 */
async function instanceKeys(
  persist: false | string,
  given: { adminKeys?: [JWK, JWK]; enrolled?: EnrolledAdmin[]; auditKey?: string },
): Promise<InstanceKeys & { save: () => void }> {
  const file = persist ? join(persist, KEYS_FILE) : null;
  const kept = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as InstanceKeys) : null;
  const keys: InstanceKeys = {
    format: 'custodes-instance-keys',
    auditKey: given.auditKey ? (JSON.parse(given.auditKey) as JWK) : (kept?.auditKey ?? (await generatePrincipalKey())),
    adminKeys: given.adminKeys ?? kept?.adminKeys ?? [await generatePrincipalKey(), await generatePrincipalKey()],
    enrolled: (given.enrolled as InstanceKeys['enrolled'] | undefined) ??
      kept?.enrolled ?? [{ key: await generatePrincipalKey() }, { key: await generatePrincipalKey() }],
  };
  const save = () => {
    if (!file || JSON.stringify(keys) === JSON.stringify(kept)) return;
    mkdirSync(persist as string, { recursive: true });
    writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  };
  save();
  return { ...keys, save };
}

/** A generated key's public half, in the API's JWK shape. */
const publicJwk = (jwk: JWK) => publicKeyOf(jwk) as components['schemas']['PublicJwk'];

export async function startCustodes(options: StartOptions = {}): Promise<Custodes> {
  const started = performance.now();
  const { persist = false, port = 0, host = '127.0.0.1', bindings = {}, workerDir = defaultWorkerDir() } = options;
  const from = typeof options.from === 'string' ? (JSON.parse(readFileSync(options.from, 'utf8')) as EmulatorState) : options.from;
  const keys = await instanceKeys(persist, {
    adminKeys: options.adminKeys ?? (from?.adminKeys?.length === 2 ? (from.adminKeys as [JWK, JWK]) : undefined),
    enrolled: from?.enrolledAdmins?.length === 2 ? from.enrolledAdmins : undefined,
    auditKey: bindings.AUDIT_SIGNING_JWK ?? (from ? JSON.stringify(from.auditKey) : undefined),
  });
  const adminKeys = keys.adminKeys;
  const controlToken = newControlToken();
  const { mf, url, controls } = await launchWorker({
    workerDir,
    host,
    port,
    ...(persist ? { persistPath: persist } : {}),
    ...(options.keepControls ? { keepControls: true } : {}),
    ...(options.assets ? { assetsDir: options.assets } : {}),
    bindings: {
      BOOTSTRAP_ADMIN_JWK: JSON.stringify({ keys: adminKeys.map(publicKeyOf) }),
      AUDIT_SIGNING_JWK: JSON.stringify(keys.auditKey),
      CUSTODES_EMULATOR: 'on',
      EMULATOR_CONTROL_TOKEN: controlToken,
      ...bindings,
    },
  });
  const base = url.origin;
  let clockOffsetMs = controls.clockOffsetMs; // a kept state's (keepControls), else 0
  const clock = () => Date.now() + clockOffsetMs;
  const bootstrapAdmins: [Principal, Principal] = [
    { id: 'adm_bootstrap', key: adminKeys[0]! },
    { id: 'adm_bootstrap2', key: adminKeys[1]! },
  ];
  // Filled in once the instance answers: the two admins the bootstrap key enrols (enrolment.ts).
  // Filled (with exactly two) before startCustodes returns: the tuple type is what callers get.
  const admins = [] as unknown as [Principal, Principal];
  const client = (principal: Principal, more: Partial<ApiClientOptions> = {}) =>
    createApiClient({ baseUrl: base, key: principal.key, principal: principal.id, clock, ...more });
  const admin = (): ApiClient => client(admins[0]);

  const control = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${controlToken}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
    const response = await fetch(`${base}/_emulator/${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const answer = await response.json();
    if (!response.ok) throw new EmulatorControlError(path, response.status, answer as EmulatorControlError['problem']);
    // Each caller reads the control's own answer type (EmulatorState, RecordedExchange…), declared where it calls.
    // biome-ignore lint/suspicious/noExplicitAny: the answer is typed at each call site
    return answer as any;
  };

  let hosts = 0;
  const emulator: Custodes = {
    url: base,
    controlToken,
    admins,
    bootstrapAdmins,
    client,
    async provisionTenant(provision = {}) {
      const name = provision.name ?? `tenant-${crypto.randomUUID().slice(0, 8)}`;
      const quota = provision.quota ?? { vcpus: 8, memoryMiB: 16384, diskGiB: 100 };
      const vmSize = provision.vm ?? { vcpus: 1, memoryMiB: 512 };
      const host = (
        await admin().POST('/v1/admin/hosts', {
          body: { name: `${name}-host-${++hosts}`, vcpus: quota.vcpus, memoryMiB: quota.memoryMiB, diskGiB: quota.diskGiB },
        })
      ).data!;
      const ownerKey = await generatePrincipalKey();
      const tenant = (await admin().POST('/v1/admin/tenants', { body: { name, ownerKey: publicJwk(ownerKey), quota } })).data!;
      const vm = (await admin().POST('/v1/admin/tenants/{tenant}/vms', { params: { path: { tenant: tenant.id } }, body: { name: `${name}-vm`, ...vmSize } }))
        .data!;
      const owner = { id: tenant.id, key: ownerKey };
      const ownerApi = client(owner);
      const toolstackKey = await generatePrincipalKey();
      const scopes = provision.scopes ?? [
        'vm:read',
        'vm:control',
        'memory:read',
        'memory:write',
        'disk:read',
        'disk:write',
        'snapshot',
        'keys',
        'labels',
        'audit:read',
      ];
      const toolstack = (
        await ownerApi.POST('/v1/tenants/{tenant}/toolstacks', {
          params: { path: { tenant: tenant.id } },
          body: { name: `${name}-toolstack`, publicKey: publicJwk(toolstackKey), scopes: scopes as never },
        })
      ).data!;
      const toolstackPrincipal = { id: toolstack.id, key: toolstackKey };
      return {
        tenant: tenant.id,
        vm: vm.id,
        host: host.id,
        owner: { ...owner, api: ownerApi },
        toolstack: { ...toolstackPrincipal, api: client(toolstackPrincipal, { scope: scopes }) },
      };
    },
    async reset() {
      await control('POST', 'reset');
      clockOffsetMs = 0;
    },
    seed: (fixture) => control('POST', 'seed', fixture),
    faults: {
      set: async (rules) => void (await control('PUT', 'faults', { faults: rules })),
      clear: async () => void (await control('DELETE', 'faults')),
    },
    clock: {
      async advance(seconds) {
        clockOffsetMs = (await control('POST', 'clock', { advanceSeconds: seconds })).offsetMs;
      },
      async set(instant) {
        clockOffsetMs = (await control('POST', 'clock', { set: new Date(instant).toISOString() })).offsetMs;
      },
      async reset() {
        clockOffsetMs = (await control('POST', 'clock', { reset: true })).offsetMs;
      },
      now: clock,
    },
    recorder: {
      entries: async () => (await control('GET', 'recorder')).recordings,
      har: () => control('GET', 'recorder.har'),
      clear: async () => void (await control('DELETE', 'recorder')),
    },
    info: async () => (await fetch(`${base}/v1/info`)).json() as Promise<ServerInfo>,
    async snapshot(file) {
      const state = { ...((await control('GET', 'state')) as EmulatorState), adminKeys: adminKeys as JWK[], enrolledAdmins: [...admins] };
      if (file) writeFileSync(file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
      return state;
    },
    startupMs: 0,
    close: () => mf.dispose(),
  };
  const health = await fetch(`${base}/v1/health`);
  if (!health.ok) throw new Error(`the emulator did not come up: ${health.status} ${await health.text()}`);
  if (from) {
    await control('PUT', 'state', from);
    if (!from.enrolledAdmins?.length) {
      await mf.dispose();
      throw new Error(
        "this state file holds no enrolled admins' keys (`custodes emulator export` cannot know them): start from one `emu.snapshot(file)` wrote, or import it into the instance it came from (`custodes emulator import`).",
      );
    }
  }
  // A fresh in-memory instance holds no admins yet: no need to ask before enrolling them.
  admins.push(
    ...(await enrolReadyAdmins(
      base,
      adminKeys[0],
      [keys.enrolled[0].key, keys.enrolled[1].key],
      keys.enrolled.map((e) => e.id),
      undefined,
      Boolean(persist || from),
    )),
  );
  keys.enrolled = [
    { id: admins[0].id, key: admins[0].key },
    { id: admins[1].id, key: admins[1].key },
  ];
  keys.save();
  return Object.assign(emulator, { startupMs: Math.round(performance.now() - started) });
}
