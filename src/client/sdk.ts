/**
 * A small typed client for the Custodes API. Each request carries a freshly
 * minted token (tokens are single-use) and, for POSTs, an Idempotency-Key, so
 * retrying a call after a network error is safe. Errors surface as
 * `CustodesApiError` holding the RFC 9457 problem document.
 */
import type { JWK } from 'jose';
import { mintToken } from './keys';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  [extension: string]: unknown;
}

export class CustodesApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.title} (${problem.code}): ${problem.detail}`);
    this.name = 'CustodesApiError';
  }
}

export interface ClientOptions {
  baseUrl?: string;
  key: JWK;
  principal: string;
  audience?: string;
  scope?: readonly string[];
  fetch?: typeof fetch;
}

export interface Resources {
  vcpus: number;
  memoryMiB: number;
}
export interface Host extends Resources {
  id: string;
  name: string;
  diskGiB: number;
  state: string;
  allocated: Resources & { vms: number };
  revision: number;
}
export interface Tenant {
  id: string;
  name: string;
  ownerKid: string;
  quota: Resources & { diskGiB: number };
  usage: Resources & { vms: number; diskGiB: number };
  state: string;
  revision: number;
}
export interface Vm extends Resources {
  id: string;
  tenant: string;
  host: string;
  name: string;
  state: string;
  revision: number;
}
/** A significant operation's answer (202): it waits for a second admin (DESIGN §7). */
export interface ChangeRequest {
  id: string;
  operation: string;
  target: { type: string; id: string };
  tenants: string[];
  requiredRole: string;
  proposer: string;
  state: 'pending' | 'executed' | 'failed' | 'denied' | 'cancelled' | 'expired';
  expiresAt: string;
}

export interface DrainReport {
  host: Host;
  migrated: { vm: string; tenant: string; from: string; to: string }[];
  stranded: { vm: string; reason: string }[];
}

export interface PageOptions {
  pageSize?: number;
  pageToken?: string;
}

export class CustodesClient {
  readonly baseUrl: string;
  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    this.#options = options;
    this.baseUrl = (options.baseUrl ?? 'http://127.0.0.1:8787').replace(/\/$/, '');
  }

  /** The API's JSON answer, or `CustodesApiError` with the problem document. */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const text = await this.requestText(method, path, body, headers);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async requestText(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<string> {
    const { key, principal, audience, scope, fetch: doFetch = fetch } = this.#options;
    const token = await mintToken({ key, principal, audience, scope });
    const init: RequestInit = { method, headers: { Authorization: `Bearer ${token}`, ...headers } };
    if (method === 'POST' && !('Idempotency-Key' in headers)) {
      (init.headers as Record<string, string>)['Idempotency-Key'] = crypto.randomUUID();
    }
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    }
    const res = await doFetch(`${this.baseUrl}${path}`, init);
    const text = await res.text();
    if (!res.ok) {
      let problem: Problem;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = { type: 'about:blank', title: res.statusText, status: res.status, detail: text.slice(0, 200), code: 'http_error', requestId: res.headers.get('X-Request-Id') ?? '' };
      }
      throw new CustodesApiError(problem);
    }
    return text;
  }

  readonly hosts = {
    create: (input: { name: string; vcpus: number; memoryMiB: number; diskGiB: number }) => this.request<Host>('POST', '/v1/admin/hosts', input),
    list: (page: PageOptions = {}) => this.request<{ hosts: Host[]; nextPageToken?: string }>('GET', `/v1/admin/hosts${query(page)}`),
    get: (id: string) => this.request<Host>('GET', `/v1/admin/hosts/${encodeURIComponent(id)}`),
    update: (id: string, patch: Partial<Pick<Host, 'name' | 'vcpus' | 'memoryMiB' | 'diskGiB'>> & { state?: 'active' }) =>
      this.request<Host>('PATCH', `/v1/admin/hosts/${encodeURIComponent(id)}`, patch),
    delete: (id: string) => this.request<void>('DELETE', `/v1/admin/hosts/${encodeURIComponent(id)}`),
    /** An empty host drains at once; one with tenant VMs answers a pending change request. */
    drain: (id: string) => this.request<DrainReport | ChangeRequest>('POST', `/v1/admin/hosts/${encodeURIComponent(id)}:drain`),
  };

  readonly tenants = {
    create: (input: { name: string; ownerKey: JWK; quota: Resources & { diskGiB: number } }) => this.request<Tenant>('POST', '/v1/admin/tenants', input),
    list: (page: PageOptions = {}) => this.request<{ tenants: Tenant[]; nextPageToken?: string }>('GET', `/v1/admin/tenants${query(page)}`),
    get: (id: string) => this.request<Tenant>('GET', `/v1/admin/tenants/${encodeURIComponent(id)}`),
    /** A quota below the tenant's use answers a pending change request. */
    update: (id: string, patch: { name?: string; quota?: Partial<Tenant['quota']> }) =>
      this.request<Tenant | ChangeRequest>('PATCH', `/v1/admin/tenants/${encodeURIComponent(id)}`, patch),
    delete: (id: string) => this.request<ChangeRequest>('DELETE', `/v1/admin/tenants/${encodeURIComponent(id)}`),
  };

  readonly vms = {
    create: (tenant: string, input: { name: string; vcpus: number; memoryMiB: number }) =>
      this.request<Vm>('POST', `/v1/admin/tenants/${encodeURIComponent(tenant)}/vms`, input),
    list: (page: PageOptions & { tenant?: string; host?: string } = {}) => this.request<{ vms: Vm[]; nextPageToken?: string }>('GET', `/v1/admin/vms${query(page)}`),
    get: (id: string) => this.request<Vm>('GET', `/v1/admin/vms/${encodeURIComponent(id)}`),
    resize: (id: string, patch: { name?: string; vcpus?: number; memoryMiB?: number }) => this.request<Vm>('PATCH', `/v1/admin/vms/${encodeURIComponent(id)}`, patch),
    migrate: (id: string, host?: string) =>
      this.request<{ vm: Vm; from: string; to: string }>('POST', `/v1/admin/vms/${encodeURIComponent(id)}:migrate`, host ? { host } : {}),
    delete: (id: string) => this.request<ChangeRequest>('DELETE', `/v1/admin/vms/${encodeURIComponent(id)}`),
  };
}

/** The base path of a log's audit routes: `provider` or `tenants/<id>`. */
const auditBase = (log: string): string => (log === 'provider' ? '/v1/admin/audit' : `/v1/${log}/audit`);

export interface AuditApi {
  logKey(): Promise<string>;
  jwks(): Promise<{ keys: { kid?: string; kty?: string; crv?: string; x?: string }[] }>;
  checkpoint(): Promise<string>;
  records(from: number, limit: number): Promise<{ records: { index: number; jws: string }[]; next?: number }>;
  consistency(from: number, to: number): Promise<{ from: number; to: number; proof: string[] }>;
  inclusion(index: number, size: number): Promise<{ index: number; size: number; proof: string[] }>;
}

/** One log's audit API (satisfies the offline verifier's AuditSource). */
export function auditApi(client: CustodesClient, log: string): AuditApi {
  const base = auditBase(log);
  return {
    logKey: () => client.requestText('GET', '/v1/audit/log-key'),
    jwks: () => client.request('GET', '/.well-known/jwks.json'),
    checkpoint: () => client.requestText('GET', `${base}/checkpoint`),
    records: (from, limit) => client.request('GET', `${base}/records${query({ from, limit })}`),
    consistency: (from, to) => client.request('GET', `${base}/proofs/consistency${query({ from, to })}`),
    inclusion: (index, size) => client.request('GET', `${base}/proofs/inclusion${query({ index, size })}`),
  };
}

function query(params: object): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : '';
}
