/**
 * Rate limits (Workers Rate Limiting bindings, wrangler.toml `[[ratelimits]]`;
 * miniflare emulates them locally): a principal is counted by its id, a
 * request without a valid token by its client address. Over the limit the
 * answer is 429 `rate_limited` with `Retry-After` (RFC 9110 §10.2.3).
 *
 * A principal's requests are counted in blocks of 40 per binding call
 * (./block-counter.ts): at most 39 over the limit per refused call, at most 39
 * under it per isolate.
 *
 * Limits bound what one source costs; what outsiders add to a tenant's log is
 * bounded separately, whatever their number (audit/log/sequencer.ts `appendRefusal`).
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../env';
import { clientAddress } from '../../http/limits';
import { problemResponse } from '../../http/problem';
import { BlockCounter } from './block-counter';
import { RATE_LIMIT_BLOCKS, RATE_LIMIT_PERIOD_SECONDS } from './limits';

export { RATE_LIMIT_BLOCKS, RATE_LIMIT_PERIOD_SECONDS, RATE_LIMITS } from './limits';

// Per isolate: what each key has prepaid in the current window.
const principals = new BlockCounter({ block: RATE_LIMIT_BLOCKS.perPrincipal, periodSeconds: RATE_LIMIT_PERIOD_SECONDS });
const addresses = new BlockCounter({ block: RATE_LIMIT_BLOCKS.perAddress, periodSeconds: RATE_LIMIT_PERIOD_SECONDS });

/** Counts one request of `principal` (or, without one, of the client's address); a 429 problem when over the limit. */
export async function overRateLimit(c: Context<AppEnv>, principal?: string): Promise<Response | null> {
  const limiter = principal ? c.env.PRINCIPAL_RATE_LIMIT : c.env.ADDRESS_RATE_LIMIT;
  if (!limiter) return null; // a deployment without the bindings is not limited
  const key = principal ? `principal:${principal}` : `address:${clientAddress(c) ?? 'unknown'}`;
  if (await (principal ? principals : addresses).admit(limiter, key)) return null;
  const who = principal ? `Principal ${principal}` : 'This client address';
  return problemResponse(
    c,
    'rate_limited',
    `${who} sent too many requests; retry after ${RATE_LIMIT_PERIOD_SECONDS} s.`,
    { retryAfterSeconds: RATE_LIMIT_PERIOD_SECONDS },
    {
      'Retry-After': String(RATE_LIMIT_PERIOD_SECONDS),
    },
  );
}

/** For routes anyone may call: counted by client address. */
export function rateLimitByAddress(): MiddlewareHandler<AppEnv> {
  return async function rateLimitByAddressMiddleware(c, next) {
    return (await overRateLimit(c)) ?? next();
  };
}
