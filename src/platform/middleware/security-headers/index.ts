/**
 * Headers that tell a browser how to treat what the Worker serves (issue 29):
 * a strict Content Security Policy (OWASP's "strict CSP": scripts only from
 * this origin, none inline), no framing by any page (`frame-ancestors 'none'`
 * and, for older browsers, `X-Frame-Options: DENY`; clickjacking of a console
 * signed in with a remembered key), no MIME sniffing, no referrer. The API's
 * JSON gets the same: harmless there, and one policy is easier to reason about.
 * Static assets (the console) get these from public/_headers.
 */
import type { MiddlewareHandler } from 'hono';

export interface SecurityHeadersOptions {
  /** Style sources besides 'self' (the docs' renderer injects its own styles at run time). */
  styleSrc?: string;
}

export const contentSecurityPolicy = ({ styleSrc = '' }: SecurityHeadersOptions = {}): string =>
  [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self'${styleSrc ? ` ${styleSrc}` : ''}`,
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

export function securityHeaders(options: SecurityHeadersOptions = {}): MiddlewareHandler {
  const policy = contentSecurityPolicy(options);
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const headers = c.res.headers;
    headers.set('Content-Security-Policy', policy);
    headers.set('X-Frame-Options', 'DENY');
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('Referrer-Policy', 'no-referrer');
  };
}
