/**
 * Gatekeeper for request bodies: size limit (413), media type (415) and JSON
 * syntax (400 `malformed_json`), each as problem+json before a handler runs.
 * Hono caches the body text, so the route validators do not read the stream again.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { problemResponse } from '../../http/problem';

export interface JsonBodyOptions {
  /** Largest accepted body in bytes. */
  maxBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

export function jsonBody(options: JsonBodyOptions = {}): MiddlewareHandler<AppEnv> {
  const { maxBytes = DEFAULT_MAX_BODY_BYTES } = options;
  return async function jsonBodyMiddleware(c, next) {
    if (!METHODS_WITH_BODY.has(c.req.method)) return next();
    const declared = Number(c.req.header('Content-Length') ?? NaN);
    if (declared > maxBytes) return tooLarge();

    // Read once, bounded: Content-Length may be absent (chunked) or lie.
    const text = await c.req.text();
    // UTF-8 takes 1–3 bytes per UTF-16 unit: count exactly only when the bounds straddle the limit.
    if (text.length > maxBytes || (text.length * 3 > maxBytes && new TextEncoder().encode(text).byteLength > maxBytes)) return tooLarge();
    if (text.length === 0) return next();

    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
      return problemResponse(c, 'unsupported_media_type', `Send the body as application/json, not ${JSON.stringify(mediaType || 'none')}.`);
    }
    try {
      await c.req.json();
    } catch (error) {
      return problemResponse(c, 'malformed_json', `The body is not valid JSON: ${(error as Error).message}`);
    }
    return next();

    function tooLarge() {
      return problemResponse(c, 'payload_too_large', `Request bodies are limited to ${maxBytes} bytes.`, { maxBytes });
    }
  };
}
