/**
 * CORS (Fetch standard §3.2) for browser clients. Allowed origins come from
 * `CORS_ALLOWED_ORIGINS` (comma-separated exact origins, or `*`). Custodes
 * authenticates with bearer tokens, never cookies, so responses never carry
 * `Access-Control-Allow-Credentials` — and should a deployment ask for
 * credentials (`CORS_ALLOW_CREDENTIALS=true`), `*` stops matching: a wildcard
 * must never let every site send a user's credentials.
 *
 * A preflight is answered here, before the audit middleware: it carries no
 * token and does nothing, and recording it would let any web page write to
 * the provider's log. A preflight from an origin not allowed gets 403.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../env';
import { problemResponse } from '../../http/problem';

export interface CorsOptions {
  /** Request headers a browser may send. */
  allowHeaders?: readonly string[];
  /** Response headers a browser script may read. */
  exposeHeaders?: readonly string[];
  /** Seconds a browser may cache a preflight. */
  maxAgeSeconds?: number;
}

const METHODS = 'GET, POST, PUT, PATCH, DELETE';

/** Whether `origin` may call the API under this deployment's settings. */
export function originAllowed(origin: string, allowed: string | undefined, credentials: boolean): boolean {
  const list = (allowed ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return list.includes(origin) || (!credentials && list.includes('*'));
}

export function cors(options: CorsOptions = {}): MiddlewareHandler<AppEnv> {
  const {
    allowHeaders = ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'If-None-Match'],
    exposeHeaders = ['Custodes-Audit', 'X-Request-Id', 'ETag', 'Location', 'Idempotent-Replayed', 'Retry-After'],
    maxAgeSeconds = 600,
  } = options;
  return async function corsMiddleware(c, next) {
    const origin = c.req.header('Origin');
    if (!origin) return next();
    const credentials = c.env.CORS_ALLOW_CREDENTIALS === 'true';
    const allowed = originAllowed(origin, c.env.CORS_ALLOWED_ORIGINS, credentials);
    const preflight = c.req.method === 'OPTIONS' && c.req.header('Access-Control-Request-Method') !== undefined;
    if (preflight) {
      if (!allowed)
        return problemResponse(c, 'origin_not_allowed', `Origin ${origin} may not call this API; the operator lists allowed origins in CORS_ALLOWED_ORIGINS.`);
      return new Response(null, {
        status: 204,
        headers: {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Methods': METHODS,
          'Access-Control-Allow-Headers': allowHeaders.join(', '),
          'Access-Control-Max-Age': String(maxAgeSeconds),
          ...(credentials ? { 'Access-Control-Allow-Credentials': 'true' } : {}),
          Vary: 'Origin',
        },
      });
    }
    await next();
    c.res.headers.append('Vary', 'Origin');
    if (!allowed) return; // no Access-Control-Allow-Origin: the browser withholds the answer
    c.res.headers.set('Access-Control-Allow-Origin', origin);
    c.res.headers.set('Access-Control-Expose-Headers', exposeHeaders.join(', '));
    if (credentials) c.res.headers.set('Access-Control-Allow-Credentials', 'true');
  };
}
