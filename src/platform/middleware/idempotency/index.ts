/**
 * `Idempotency-Key` on POST and PUT (a page write makes new versions, so it is
 * not idempotent by itself): a retry with the same key and body gets the stored
 * response plus `Idempotent-Replayed: true`; the same key with another body is
 * 422; a retry racing the original is 409. Runs after authentication, so keys
 * are per principal and one tenant cannot replay another's response. The key
 * is marked committed in the request's own audit batch (./idempotency.store.ts),
 * so a crash between the effect and the stored response never runs it twice.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../env';
import { problemResponse } from '../../http/problem';
import { sha256Hex } from '../../../lib/crypto';
import { claimIdempotencyKey, commitStatements, completeIdempotencyKey, settleFailedIdempotencyKey, type IdempotencyTimes } from './idempotency.store';
import { nowSeconds } from '../../clock';

export interface IdempotencyOptions {
  /** How long a completed response is kept for replay. */
  ttlSeconds?: number;
  /** How long an unfinished claim blocks its key. */
  pendingSeconds?: number;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const NON_IDEMPOTENT_METHODS = new Set(['POST', 'PUT']);
/** Headers worth replaying; hop-by-hop and per-response ones (request id) are not. */
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

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

    const claim = await claimIdempotencyKey(db, principalId, key, fingerprint, times());
    switch (claim.kind) {
      case 'mismatch':
        return problemResponse(c, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request; use a new key.');
      case 'in_progress':
        return problemResponse(c, 'idempotency_key_in_use', 'The first request with this Idempotency-Key has not finished; retry shortly.', undefined, {
          'Retry-After': '1',
        });
      case 'replay': {
        const { status, headers, body } = claim.response;
        return new Response(body, { status, headers: { ...headers, 'Idempotent-Replayed': 'true' } });
      }
      case 'response_lost':
        return problemResponse(
          c,
          'idempotency_response_lost',
          `Request ${claim.requestId} carried this out, but its response was lost; it is not run again. Read the resource, or find that request id in the audit log.`,
          { originalRequestId: claim.requestId },
        );
      case 'claimed':
        break;
    }

    c.get('audit').alsoOnCommit(commitStatements(principalId, key, claim.claim, c.get('requestId'), times()));
    await next();
    if (c.res.status >= 500) {
      await settleFailedIdempotencyKey(db, principalId, key, claim.claim); // freed if nothing committed, else `lost`
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = c.res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    await completeIdempotencyKey(db, principalId, key, claim.claim, { status: c.res.status, headers, body: await c.res.clone().text() }, times());
  };
}
