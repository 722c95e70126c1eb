import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as labels from './labels.service';
import type * as routes from './labels.routes';

export const putLabel: RouteHandler<typeof routes.putLabel, AppEnv> = async (c) => {
  const { tenant, name } = c.req.valid('param');
  const body = c.req.valid('json');
  const input = { space: body.space, resource: body.space === 'memory' ? body.vm : body.disk, start: body.start, count: body.count };
  const result = await labels.putLabel(c.get('db'), c.get('audit').commit, tenant, name, input);
  if (!result.ok) return failureResponse(c, result.error);
  const { label, created } = result.value;
  return created ? c.json(label, 201, { Location: `/v1/tenants/${tenant}/labels/${encodeURIComponent(name)}` }) : c.json(label, 200);
};

export const listLabels: RouteHandler<typeof routes.listLabels, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const list = `labels?tenant=${tenant}`;
  const request = decodePageRequest(list, c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await labels.listLabels(c.get('db'), tenant, request.value, c.get('reach')));
  return c.json({ labels: items, nextPageToken }, 200);
};

export const getLabel: RouteHandler<typeof routes.getLabel, AppEnv> = async (c) => {
  const { tenant, name } = c.req.valid('param');
  const result = await labels.getLabel(c.get('db'), tenant, name);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const deleteLabel: RouteHandler<typeof routes.deleteLabel, AppEnv> = async (c) => {
  const { tenant, name } = c.req.valid('param');
  const result = await labels.deleteLabel(c.get('db'), c.get('audit').commit, tenant, name);
  return result.ok ? c.body(null, 204) : failureResponse(c, result.error);
};
