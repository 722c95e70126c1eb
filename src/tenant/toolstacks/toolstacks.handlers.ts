import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as toolstacks from './toolstacks.service';
import type * as routes from './toolstacks.routes';

export const createToolstack: RouteHandler<typeof routes.createToolstack, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const result = await toolstacks.createToolstack(
    c.get('db'),
    c.get('audit').commit,
    c.env.BOOTSTRAP_ADMIN_JWK,
    tenant,
    c.req.valid('json'),
    c.get('principal'),
  );
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 201, { Location: `/v1/tenants/${tenant}/toolstacks/${result.value.id}` });
};

export const listToolstacks: RouteHandler<typeof routes.listToolstacks, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const list = `toolstacks?tenant=${tenant}`;
  const request = decodePageRequest(list, c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await toolstacks.listToolstacks(c.get('db'), tenant, request.value));
  return c.json({ toolstacks: items, nextPageToken }, 200);
};

export const getToolstack: RouteHandler<typeof routes.getToolstack, AppEnv> = async (c) => {
  const { tenant, toolstack } = c.req.valid('param');
  const result = await toolstacks.getToolstack(c.get('db'), tenant, toolstack);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const revokeToolstack: RouteHandler<typeof routes.revokeToolstack, AppEnv> = async (c) => {
  const { tenant, toolstack } = c.req.valid('param');
  const result = await toolstacks.revokeToolstack(c.get('db'), c.get('audit').commit, tenant, toolstack, c.get('principal'));
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const patchToolstack: RouteHandler<typeof routes.patchToolstack, AppEnv> = async (c) => {
  const { tenant, toolstack } = c.req.valid('param');
  const result = await toolstacks.updateToolstack(c.get('db'), c.get('audit').commit, tenant, toolstack, c.req.valid('json'), c.get('principal'));
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
