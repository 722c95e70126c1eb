/** Request paths: the custom-method convention, and the path as the client sent it. */
import type { Context } from 'hono';

/**
 * Custom methods (`POST /hosts/{host}:drain`, Google AIP-136). Hono would read
 * `{host}:drain` as one parameter, so such routes are registered under an
 * internal path `/hosts/{host}/~drain`; `routingPath` maps request paths onto
 * it and `publicPath` maps the OpenAPI document back.
 */
const CUSTOM_METHOD_REQUEST = /^(.*\/[^/:~]+):([a-z][A-Za-z]*)$/;
export const routingPath = (path: string): string => path.replace(CUSTOM_METHOD_REQUEST, '$1/~$2');
export const publicPath = (path: string): string => path.replace(/\/~([a-z][A-Za-z]*)$/, ':$1');
export const internalPath = (path: string): string => path.replace(/}:([a-z][A-Za-z]*)$/, '}/~$1');

/** The path as the client sent it (`c.req.path` is the routing path, which differs for custom methods). */
export const requestPath = (c: Context): string => new URL(c.req.url).pathname;
