import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as snapshots from './snapshots.service';
import type * as routes from './snapshots.routes';

export const createSnapshot: RouteHandler<typeof routes.createSnapshot, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const input = c.req.valid('json');
  const result = await snapshots.createSnapshot(c.get('db'), c.get('audit').commit, tenant, input);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 201, { Location: `/v1/tenants/${tenant}/snapshots/${result.value.id}` });
};

export const listSnapshots: RouteHandler<typeof routes.listSnapshots, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const { vm, ...pageQuery } = c.req.valid('query');
  const list = `snapshots?tenant=${tenant}&vm=${vm ?? ''}`;
  const request = decodePageRequest(list, pageQuery);
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await snapshots.listSnapshots(c.get('db'), tenant, request.value, c.get('reach'), vm));
  return c.json({ snapshots: items, nextPageToken }, 200);
};

export const getSnapshot: RouteHandler<typeof routes.getSnapshot, AppEnv> = async (c) => {
  const { tenant, snapshot } = c.req.valid('param');
  const result = await snapshots.getSnapshot(c.get('db'), tenant, snapshot);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const restoreSnapshot: RouteHandler<typeof routes.restoreSnapshot, AppEnv> = async (c) => {
  const { tenant, snapshot } = c.req.valid('param');
  const result = await snapshots.restoreSnapshot(c.get('db'), c.get('audit').commit, tenant, snapshot);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
