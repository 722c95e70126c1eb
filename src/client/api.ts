/**
 * The typed SDK: openapi-fetch over the types generated from openapi.yaml
 * (api-types.ts), with a middleware that signs every request with a fresh
 * single-use token (DESIGN §2) and turns problem+json answers into
 * `CustodesApiError`s.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { JWK } from 'jose';
import type { paths } from './api-types';
import { mintToken } from './keys';
import { CustodesApiError, type Problem } from './sdk';

export type { paths } from './api-types';

export interface ApiClientOptions {
  baseUrl?: string;
  /** The principal's private JWK (owner, toolstack or admin). */
  key: JWK;
  /** `ten_…`, `tsk_…` or `adm_…`. */
  principal: string;
  /** Scopes to ask for (toolstacks: within the ceiling). */
  scope?: readonly string[];
  vms?: readonly string[];
  audience?: string;
  /**
   * The client session every token of this client names (`sid`): recovery
   * follows sessions (DESIGN §6), and tokens are single-use. Default: a fresh
   * id per client.
   */
  session?: string;
  fetch?: typeof fetch;
}

export type ApiClient = Client<paths>;

export function createApiClient(options: ApiClientOptions): ApiClient {
  const { baseUrl = 'http://127.0.0.1:8787', key, principal, scope, vms, audience, session = crypto.randomUUID(), fetch: fetchImpl } = options;
  const client = createClient<paths>({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  const signing: Middleware = {
    async onRequest({ request }) {
      request.headers.set('Authorization', `Bearer ${await mintToken({ key, principal, scope, vms, audience, session })}`);
      return request;
    },
    async onResponse({ response }) {
      if (response.ok) return response;
      const text = await response.clone().text();
      let problem: Problem;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = { type: 'about:blank', title: response.statusText, status: response.status, detail: text.slice(0, 200), code: 'http_error', requestId: '' };
      }
      throw new CustodesApiError(problem);
    },
  };
  client.use(signing);
  return client;
}
