/**
 * Request ids are minted by the server, never taken from the client: they end
 * up in audit records, where a caller-chosen value could collide or mislead.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../env';
import { newId } from '../../../lib/ids';

export const REQUEST_ID_HEADER = 'X-Request-Id';

export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const id = newId('req');
    c.set('requestId', id);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, id);
  };
}
