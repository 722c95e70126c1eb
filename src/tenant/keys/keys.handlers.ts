import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as keys from './wrapped-keys.service';
import type * as routes from './keys.routes';

export const storeWrappedKey: RouteHandler<typeof routes.storeWrappedKey, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const result = await keys.storeWrappedKey(c.get('db'), c.get('audit').commit, tenant, c.req.valid('json'));
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 201, { Location: `/v1/tenants/${tenant}/keys/${result.value.id}` });
};

export const listWrappedKeys: RouteHandler<typeof routes.listWrappedKeys, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const { name, ...pageQuery } = c.req.valid('query');
  const list = `keys?tenant=${tenant}&name=${name ?? ''}`;
  const request = decodePageRequest(list, pageQuery);
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await keys.listWrappedKeys(c.get('db'), tenant, request.value, name));
  return c.json({ keys: items, nextPageToken }, 200);
};

export const getWrappedKey: RouteHandler<typeof routes.getWrappedKey, AppEnv> = async (c) => {
  const { tenant, key } = c.req.valid('param');
  const result = await keys.getWrappedKey(c.get('db'), tenant, key);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const deleteWrappedKey: RouteHandler<typeof routes.deleteWrappedKey, AppEnv> = async (c) => {
  const { tenant, key } = c.req.valid('param');
  const result = await keys.deleteWrappedKey(c.get('db'), c.get('audit').commit, tenant, key);
  return result.ok ? c.body(null, 204) : failureResponse(c, result.error);
};
