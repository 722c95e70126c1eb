import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as disks from './disks.service';
import type * as routes from './disks.routes';

export const createDisk: RouteHandler<typeof routes.createDisk, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const result = await disks.createDisk(c.get('db'), c.get('audit').commit, tenant, c.req.valid('json'));
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 201, { Location: `/v1/tenants/${tenant}/disks/${result.value.id}` });
};

export const listDisks: RouteHandler<typeof routes.listDisks, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const list = `disks?tenant=${tenant}`;
  const request = decodePageRequest(list, c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await disks.listDisks(c.get('db'), tenant, request.value, c.get('reach')));
  return c.json({ disks: items, nextPageToken }, 200);
};

export const getDisk: RouteHandler<typeof routes.getDisk, AppEnv> = async (c) => {
  const { tenant, disk } = c.req.valid('param');
  const result = await disks.getDisk(c.get('db'), tenant, disk);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const deleteDisk: RouteHandler<typeof routes.deleteDisk, AppEnv> = async (c) => {
  const { tenant, disk } = c.req.valid('param');
  const result = await disks.deleteDisk(c.get('db'), c.get('audit').commit, tenant, disk);
  return result.ok ? c.body(null, 204) : failureResponse(c, result.error);
};

export const attachDisk: RouteHandler<typeof routes.attachDisk, AppEnv> = async (c) => {
  const { tenant, disk } = c.req.valid('param');
  const result = await disks.attachDisk(c.get('db'), c.get('audit').commit, tenant, disk, c.req.valid('json').vm);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const detachDisk: RouteHandler<typeof routes.detachDisk, AppEnv> = async (c) => {
  const { tenant, disk } = c.req.valid('param');
  const result = await disks.attachDisk(c.get('db'), c.get('audit').commit, tenant, disk, null);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
