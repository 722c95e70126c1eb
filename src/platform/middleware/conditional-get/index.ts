/**
 * Conditional GET (RFC 9110 §13.1.2): a GET whose `If-None-Match` names the
 * entity tag of the answer gets 304 Not Modified with no body. The handler
 * still runs — reads are audited like everything else — only the bytes are
 * saved.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../env';

/** Weak comparison (RFC 9110 §8.8.3.2): `W/` is ignored; `*` matches any tag. */
export function noneMatch(header: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim() === '*' || opaque(candidate) === opaque(etag));
}

export function conditionalGet(): MiddlewareHandler<AppEnv> {
  return async function conditionalGetMiddleware(c, next) {
    await next();
    const ifNoneMatch = c.req.header('If-None-Match');
    const etag = c.res.headers.get('ETag');
    if (c.req.method !== 'GET' || !ifNoneMatch || !etag || c.res.status !== 200 || !noneMatch(ifNoneMatch, etag)) return;
    const headers = new Headers(c.res.headers);
    for (const name of ['Content-Type', 'Content-Length']) headers.delete(name);
    c.res = new Response(null, { status: 304, headers });
  };
}
