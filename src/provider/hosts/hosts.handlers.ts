import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { etag, expectedRevision } from '../../platform/http/etag';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as drain from './drain.service';
import * as hosts from './hosts.service';
import { hostDrain } from '../../governance/changes/change-operations';
import { changeLocation, propose } from '../../governance/changes/changes.handlers';
import type * as routes from './hosts.routes';

export const createHost: RouteHandler<typeof routes.createHost, AppEnv> = async (c) => {
  const result = await hosts.createHost(c.get('db'), c.get('audit').commit, c.req.valid('json'));
  if (!result.ok) return failureResponse(c, result.error);
  const host = result.value;
  return c.json(host, 201, { ETag: etag(host.revision), Location: `/v1/admin/hosts/${host.id}` });
};

export const listHosts: RouteHandler<typeof routes.listHosts, AppEnv> = async (c) => {
  const request = decodePageRequest('hosts', c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage('hosts', await hosts.listHosts(c.get('db'), request.value));
  return c.json({ hosts: items, nextPageToken }, 200);
};

export const getHost: RouteHandler<typeof routes.getHost, AppEnv> = async (c) => {
  const result = await hosts.getHost(c.get('db'), c.req.valid('param').host);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200, { ETag: etag(result.value.revision) });
};

export const patchHost: RouteHandler<typeof routes.patchHost, AppEnv> = async (c) => {
  const ifMatch = expectedRevision(c.req.valid('header')['if-match']);
  const result = await hosts.updateHost(c.get('db'), c.get('audit').commit, c.req.valid('param').host, c.req.valid('json'), ifMatch);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200, { ETag: etag(result.value.revision) });
};

export const deleteHost: RouteHandler<typeof routes.deleteHost, AppEnv> = async (c) => {
  const ifMatch = expectedRevision(c.req.valid('header')['if-match']);
  const result = await hosts.deleteHost(c.get('db'), c.get('audit').commit, c.req.valid('param').host, ifMatch);
  if (!result.ok) return failureResponse(c, result.error);
  return c.body(null, 204);
};

export const drainHost: RouteHandler<typeof routes.drainHost, AppEnv> = async (c) => {
  const { host } = c.req.valid('param');
  const significant = await hostDrain(c.get('db'), host);
  if (!significant.ok) return failureResponse(c, significant.error);
  if (significant.value) {
    const change = await propose(c, significant.value);
    return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
  }
  const result = await drain.drainHost(c.get('db'), c.get('audit').commit, host);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200);
};
