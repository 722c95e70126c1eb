/**
 * Handlers of both content spaces: memory pages and disk blocks differ only
 * in the space and in the path parameter that names the resource.
 */
import type { Context } from 'hono';
import type { RouteHandler } from '@hono/zod-openapi';
import type * as routes from './contents.routes';
import type { AppEnv } from '../../env';
import { failureResponse } from '../../platform/http/problem';
import * as contents from './contents.service';
import type { ContentAddress } from './content-statements';

/** What the routes' validators produced (contents.routes.ts), read without the per-route generics. */
interface Validated {
  param: Record<string, string | number>;
  query: { start: number; count: number };
  json: { pages: contents.PageWrite[] };
}
const valid = <K extends keyof Validated>(c: Context<AppEnv>, target: K): Validated[K] =>
  // The memory and disk routes share these handlers: their validated inputs have one shape, which Hono's per-route types cannot express.
  (c.req as unknown as { valid(target: K): Validated[K] }).valid(target);

/** Ciphertext: no intermediary should transform it (RFC 9111 §5.2.2.6) — compressing it gains nothing. */
const NO_TRANSFORM = { 'Cache-Control': 'no-store, no-transform' };

export function contentHandlers(space: contents.Space) {
  const resourceParam = space === 'memory' ? 'vm' : 'disk';
  const addressOf = (c: Context<AppEnv>): ContentAddress => {
    const param = valid(c, 'param');
    return { tenant: String(param.tenant), space, id: String(param[resourceParam]) };
  };
  return {
    async write(c: Context<AppEnv>) {
      const { pages } = valid(c, 'json');
      const result = await contents.writePages(c.get('db'), c.get('audit').commit, addressOf(c), pages);
      return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
    },
    async read(c: Context<AppEnv>) {
      const { start, count } = valid(c, 'query');
      const result = await contents.readRange(c.get('db'), c.get('audit').commit, addressOf(c), { start, count });
      if (!result.ok) return failureResponse(c, result.error);
      return c.json({ pages: result.value.pages, evidence: result.value.evidence }, 200, NO_TRANSFORM);
    },
    async readVersion(c: Context<AppEnv>) {
      const { tenant, id } = addressOf(c);
      // A deleted resource's versions stay readable until the tenant purges them.
      const resource = await contents.retainedResource(c.get('db'), tenant, space, id);
      if (!resource.ok) return failureResponse(c, resource.error);
      const { index, version } = valid(c, 'param');
      const result = await contents.readVersion(c.get('db'), c.get('audit').commit, resource.value, Number(index), Number(version));
      if (!result.ok) return failureResponse(c, result.error);
      return c.json({ ...result.value.page, evidence: result.value.evidence }, 200, NO_TRANSFORM);
    },
  };
}

/** The owner purges a deleted resource's retained versions (contents.service.ts `purgeVersions`). */
export const purgeContents: RouteHandler<typeof routes.purge, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const { space, resource } = c.req.valid('json');
  const result = await contents.purgeVersions(c.get('db'), c.get('audit').commit, tenant, space, resource);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
