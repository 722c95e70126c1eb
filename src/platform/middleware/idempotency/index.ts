/**
 * `Idempotency-Key` on POST and PUT (a page write makes new versions, so it is
 * not idempotent by itself): a retry with the same key and body gets the stored
 * response plus `Idempotent-Replayed: true`; the same key with another body is
 * 422; a retry racing the original is 409. Runs after authentication, so keys
 * are per principal and one tenant cannot replay another's response. The key
 * is taken in the request's own audit batch (./idempotency.store.ts), so a
 * crash between the effect and the stored response never runs it twice, and a
 * first request pays no round trip for its key before the handler; a retry
 * runs the handler's reads, and its batch, refused by the key, changes nothing.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../env';
import { problemResponse } from '../../http/problem';
import { sha256Hex } from '../../../lib/crypto';
import {
  commitStatements,
  completeIdempotencyKey,
  markKeyLost,
  storeAnswer,
  type IdempotencyTimes,
  type KeyAnswer,
  type StoredResponse,
} from './idempotency.store';
import { nowSeconds } from '../../clock';

export interface IdempotencyOptions {
  /** How long a completed response is kept for replay. */
  ttlSeconds?: number;
  /** How long a committed key's response may take to be stored before a retry is told the response was lost. */
  pendingSeconds?: number;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const NON_IDEMPOTENT_METHODS = new Set(['POST', 'PUT']);
/** Headers worth replaying; hop-by-hop and per-response ones (request id) are not. */
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

/** What is kept of a response for its replay. */
async function storedResponse(response: Response): Promise<StoredResponse> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, headers, body: await response.clone().text() };
}

/** The answer a live key gives a request that did not take it; null when the key turned out free (this request's own answer stands). */
function answerResponse(c: Context<AppEnv>, answer: KeyAnswer): Response | null {
  switch (answer.kind) {
    case 'free':
      return null;
    case 'mismatch':
      return problemResponse(c, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request; use a new key.');
    case 'in_progress':
      return problemResponse(c, 'idempotency_key_in_use', 'The first request with this Idempotency-Key has not finished; retry shortly.', undefined, {
        'Retry-After': '1',
      });
    case 'replay': {
      const { status, headers, body } = answer.response;
      // The record is of the replay, as when a replay was answered before the handler: not of the refusal its batch met on the way.
      c.set('problemCode', undefined as never);
      return new Response(body, { status, headers: { ...headers, 'Idempotent-Replayed': 'true' } });
    }
    case 'response_lost':
      return problemResponse(
        c,
        'idempotency_response_lost',
        `Request ${answer.requestId} carried this out, but its response was lost; it is not run again. Read the resource, or find that request id in the audit log.`,
        { originalRequestId: answer.requestId },
      );
  }
}

export function idempotency(options: IdempotencyOptions = {}): MiddlewareHandler<AppEnv> {
  const { ttlSeconds = 24 * 60 * 60, pendingSeconds = 60 } = options;
  return async function idempotencyMiddleware(c, next) {
    const key = c.req.header('Idempotency-Key');
    if (!NON_IDEMPOTENT_METHODS.has(c.req.method) || key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      return problemResponse(c, 'invalid_idempotency_key', 'Idempotency-Key must be 1–255 visible ASCII characters.');
    }
    const db = c.get('db');
    const principalId = c.get('principal').id;
    const times = (): IdempotencyTimes => ({ now: nowSeconds(), ttlSeconds, pendingSeconds });
    // A binary body (contents as octets) was read by the body gate: its bytes, hashed, stand for it.
    const octets = c.get('octets');
    const body = octets ? `octets:${await sha256Hex(octets)}` : await c.req.text();
    const fingerprint = await sha256Hex(`${c.req.method} ${c.req.path}\n${body}`);

    const requestId = c.get('requestId');
    // The key is taken in the request's own audit batch, if it commits: no round trip before the handler.
    const audit = c.get('audit');
    audit.alsoOnCommit(commitStatements(principalId, key, fingerprint, requestId, times()));
    await next();
    if (audit.committed) {
      // This request took the key: its answer is stored for retries, or, if the server failed after the commit, the key is marked lost.
      if (c.res.status >= 500) await markKeyLost(db, principalId, key, requestId);
      else await completeIdempotencyKey(db, principalId, key, requestId, await storedResponse(c.res), times());
      return;
    }
    // Nothing of this request committed: a failure on our side leaves the key free for the retry.
    if (c.res.status >= 500) return;
    // Its answer (a refusal, or a request that changes nothing) is stored under the key, unless the key is live: a retry
    // of an earlier request, or another request with the key that committed first — then that one's answer is given.
    const kept = await storeAnswer(db, principalId, key, fingerprint, requestId, await storedResponse(c.res), times());
    if (!kept.stored) c.res = answerResponse(c, kept.answer) ?? c.res;
  };
}
