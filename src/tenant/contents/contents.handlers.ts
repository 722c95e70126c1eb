/**
 * Handlers of both content spaces: memory pages and disk blocks differ only
 * in the space and in the path parameter that names the resource.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { failureResponse } from '../../platform/http/problem';
import * as contents from './contents.service';

/** What the routes' validators produced (contents.routes.ts), read without the per-route generics. */
interface Validated {
  param: Record<string, string | number>;
  query: { start: number; count: number };
  json: { pages: contents.PageWrite[] };
}
const valid = <K extends keyof Validated>(c: Context<AppEnv>, target: K): Validated[K] =>
  (c.req as unknown as { valid(target: K): Validated[K] }).valid(target);

export function contentHandlers(space: contents.Space) {
  const resourceParam = space === 'memory' ? 'vm' : 'disk';
  const resourceOf = async (c: Context<AppEnv>, latestOf?: number[]) => {
    const param = valid(c, 'param');
    return contents.contentResource(c.get('db'), String(param.tenant), space, String(param[resourceParam]), { latestOf });
  };
  return {
    async write(c: Context<AppEnv>) {
      const { pages } = valid(c, 'json');
      const resource = await resourceOf(c, pages.map((p) => p.index));
      if (!resource.ok) return failureResponse(c, resource.error);
      const result = await contents.writePages(c.get('db'), c.get('audit').commit, resource.value, pages);
      return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
    },
    async read(c: Context<AppEnv>) {
      const param = valid(c, 'param');
      const { start, count } = valid(c, 'query');
      const result = await contents.readRange(c.get('db'), String(param.tenant), space, String(param[resourceParam]), { start, count });
      if (!result.ok) return failureResponse(c, result.error);
      // The record appended after this response lists exactly these versions.
      c.get('audit').regions = result.value.regions;
      return c.json({ pages: result.value.pages }, 200);
    },
    async readVersion(c: Context<AppEnv>) {
      const resource = await resourceOf(c);
      if (!resource.ok) return failureResponse(c, resource.error);
      const { index, version } = valid(c, 'param');
      const result = await contents.readVersion(c.get('db'), resource.value, Number(index), Number(version));
      if (!result.ok) return failureResponse(c, result.error);
      c.get('audit').regions = result.value.regions;
      return c.json(result.value.page, 200);
    },
  };
}
