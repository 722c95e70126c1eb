/**
 * The typed client: openapi-fetch over the types generated from openapi.yaml
 * (api-types.ts). Every attempt of every call carries a freshly minted
 * single-use token (docs/design.md §2) naming the client's session (`sid`), which
 * recovery follows (docs/design.md §6). A POST or PUT carries an `Idempotency-Key` —
 * the caller's, or one minted per call — and every retry of that call reuses
 * it, so a retry after a lost answer cannot act twice (and one racing the
 * still-running first attempt waits for it: 409 `idempotency_key_in_use`
 * carries `Retry-After`). Page and block writes are the exception: repeating
 * one puts the same envelopes back (same bytes, same digests), so they are
 * retried as they are, without a key, and spared the key's two extra D1 round
 * trips on the server — on a 64-page write ~25% of the server's CPU
 * (docs/decisions.md). A write retried after a lost answer then shows in the
 * log as two writes of the same envelopes; a caller who wants the replay
 * instead sends its own Idempotency-Key. Non-2xx answers raise
 * `CustodesApiError` with the RFC 9457 problem.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './api-types.ts';
import { emulatedClockOffset, refusedForItsTime } from './emulated-clock.ts';
import { CustodesApiError } from './errors.ts';
import { mintToken, type PrincipalKey } from './keys.ts';
import { jwsPayload } from '../audit/format/jws.ts';

export type { components, paths } from './api-types.ts';

export interface RetryOptions {
  /** Attempts after the first (default 2); 0 disables retries. */
  retries?: number;
  /** First back-off in ms, doubled per attempt, with jitter (default 200); a `Retry-After` wins. */
  baseDelayMs?: number;
}

export interface ApiClientOptions {
  baseUrl?: string;
  /** The principal's private key (owner, toolstack or admin): a JWK, or a key imported non-extractable (keys.ts). */
  key: PrincipalKey;
  /** `ten_…`, `tsk_…` or `adm_…`. */
  principal: string;
  /** Scopes to ask for (toolstacks: within the ceiling). */
  scope?: readonly string[];
  vms?: readonly string[];
  audience?: string;
  /** Each token's lifetime in seconds (default 300; the API refuses more than 900). */
  ttlSeconds?: number;
  /** The client session every token of this client names (`sid`). Default: a fresh id per client. */
  session?: string;
  retry?: RetryOptions;
  fetch?: typeof fetch;
  /**
   * The server's clock, for the tokens' `iat`/`exp`. Default: this machine's, until an
   * emulator whose clock was moved (`/v1/info`: `emulator.clock.emulated`) refuses a token
   * as expired or not yet valid — then the client follows the emulator's clock and sends
   * the request again (a refused token did nothing).
   */
  clock?: () => number;
}

export type ApiClient = Client<paths> & {
  /** The session (`sid`) every token of this client names. */
  readonly session: string;
};

/** Methods whose repeat is only safe under an Idempotency-Key (the API honours one on these). */
const KEYED_METHODS = new Set(['POST', 'PUT']);
/** PUTs of envelopes (guest memory pages, disk blocks): a repeat writes the same bytes again, so a retry needs no key. */
const REWRITES = /\/(?:memory\/pages|blocks)$/;
/** Methods a retry cannot make act twice (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
/**
 * Answers worth another attempt of a request that may be repeated: the request did nothing, or
 * its repeat is harmless — a 500 too, since an Idempotency-Key (or a GET) makes the repeat safe
 * and the server may have failed between doing and saying (the retry then learns which).
 */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** Also worth another attempt: a 409 saying this call's earlier attempt, under the same key, is still running. */
async function isRetryable(response: Response): Promise<boolean> {
  if (RETRYABLE_STATUS.has(response.status)) return true;
  if (response.status !== 409) return false;
  const problem = (await response
    .clone()
    .json()
    .catch(() => null)) as { code?: string } | null;
  return problem?.code === 'idempotency_key_in_use';
}
const MAX_RETRY_AFTER_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryDelay(attempt: number, baseDelayMs: number, response?: Response): number {
  const after = Number(response?.headers.get('Retry-After'));
  if (Number.isFinite(after) && after > 0) return Math.min(after * 1000, MAX_RETRY_AFTER_MS);
  return baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
}

/** The `jti` of the token each answer's request carried: a reader checks that the record served as its read's names it (read-evidence.ts). */
const sentTokenIds = new WeakMap<Response, string>();

/** The `jti` of the token that the request behind `response` carried (responses of an `ApiClient`). */
export const tokenIdOf = (response: Response | undefined): string | null => (response ? (sentTokenIds.get(response) ?? null) : null);

/**
 * A server on this machine: client and server share its CPUs, so compressing an answer (workerd does, for any client
 * that accepts gzip) only spends them twice — 11 MB of audit records cost both ends ~0.2 s of CPU (issue 34).
 */
const isLoopback = (url: string): boolean => {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
};

/** `fetch` that signs each attempt and retries what is safe to retry (see the module header). */
function signingFetch(options: ApiClientOptions & { session: string }): (request: Request) => Promise<Response> {
  const { key, principal, scope, vms, audience, session, ttlSeconds, retry: { retries = 2, baseDelayMs = 200 } = {}, fetch: fetchImpl = fetch } = options;
  // Without a clock of the caller's: this machine's, shifted once an emulator says its own was moved.
  let followed: number | null = null;
  // One question to the server at a time: requests refused together (a page fires several at once) all wait for it.
  let learning: Promise<number | null> | null = null;
  const learnClock = (url: string) =>
    (learning ??= emulatedClockOffset(fetchImpl, url).then((offset) => {
      learning = null;
      if (offset !== null) followed = offset;
      return offset;
    }));
  const clock = options.clock ?? (() => Date.now() + (followed ?? 0));
  return async function signedFetch(request) {
    const headers = new Headers(request.headers);
    if (!headers.has('Accept-Encoding') && isLoopback(request.url)) headers.set('Accept-Encoding', 'identity');
    const rewrite = request.method === 'PUT' && REWRITES.test(new URL(request.url).pathname);
    if (KEYED_METHODS.has(request.method) && !rewrite && !headers.has('Idempotency-Key')) headers.set('Idempotency-Key', crypto.randomUUID());
    const retryable = IDEMPOTENT_METHODS.has(request.method) || rewrite || headers.has('Idempotency-Key');
    const body = request.body ? await request.arrayBuffer() : undefined; // read once: every attempt sends the same bytes
    let clockFollowed = false;
    for (let attempt = 0; ; attempt++) {
      const token = await mintToken({ key, principal, scope, vms, audience, session, clock, ttlSeconds });
      headers.set('Authorization', `Bearer ${token}`);
      const last = !retryable || attempt >= retries;
      let response: Response;
      try {
        response = await fetchImpl(new Request(request.url, { method: request.method, headers, body, signal: request.signal }));
      } catch (error) {
        if (last || request.signal.aborted) throw error;
        await sleep(retryDelay(attempt, baseDelayMs));
        continue;
      }
      sentTokenIds.set(response, jwsPayload<{ jti: string }>(token).jti);
      if (!options.clock && !clockFollowed && (await refusedForItsTime(response))) {
        clockFollowed = true;
        if ((await learnClock(request.url)) !== null) {
          await response.body?.cancel();
          attempt--; // the same attempt again, on the emulator's clock
          continue;
        }
      }
      if (last || !(await isRetryable(response))) return response;
      await response.body?.cancel();
      await sleep(retryDelay(attempt, baseDelayMs, response));
    }
  };
}

const raiseProblems: Middleware = {
  async onResponse({ response }) {
    if (!response.ok) throw await CustodesApiError.fromResponse(response);
    return response;
  },
};

export function createApiClient(options: ApiClientOptions): ApiClient {
  const { baseUrl = 'http://127.0.0.1:8787', session = crypto.randomUUID() } = options;
  const client = createClient<paths>({ baseUrl, fetch: signingFetch({ ...options, session }) });
  client.use(raiseProblems);
  return Object.assign(client, { session });
}
