import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { etag, expectedRevision } from '../../platform/http/etag';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import { quotaShrink, tenantDeletion } from '../../governance/changes/change-operations';
import * as tenants from './tenants.service';
import { changeLocation, propose } from '../../governance/changes/changes.handlers';
import type * as routes from './tenants.routes';

export const createTenant: RouteHandler<typeof routes.createTenant, AppEnv> = async (c) => {
  const result = await tenants.createTenant(c.get('db'), c.get('audit').commit, c.env.BOOTSTRAP_ADMIN_JWK, c.req.valid('json'));
  if (!result.ok) return failureResponse(c, result.error);
  const tenant = result.value;
  return c.json(tenant, 201, { ETag: etag(tenant.revision), Location: `/v1/admin/tenants/${tenant.id}` });
};

export const listTenants: RouteHandler<typeof routes.listTenants, AppEnv> = async (c) => {
  const request = decodePageRequest('tenants', c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage('tenants', await tenants.listTenants(c.get('db'), request.value));
  return c.json({ tenants: items, nextPageToken }, 200);
};

export const getTenant: RouteHandler<typeof routes.getTenant, AppEnv> = async (c) => {
  const result = await tenants.getTenant(c.get('db'), c.req.valid('param').tenant);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200, { ETag: etag(result.value.revision) });
};

export const patchTenant: RouteHandler<typeof routes.patchTenant, AppEnv> = async (c) => {
  const ifMatch = expectedRevision(c.req.valid('header')['if-match']);
  const { tenant: id } = c.req.valid('param');
  const patch = c.req.valid('json');
  const shrink = await quotaShrink(c.get('db'), id, patch);
  if (!shrink.ok) return failureResponse(c, shrink.error);
  if (shrink.value) {
    const change = await propose(c, shrink.value, ifMatch);
    return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
  }
  const result = await tenants.updateTenant(c.get('db'), c.get('audit').commit, id, patch, ifMatch);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200, { ETag: etag(result.value.revision) });
};

export const deleteTenant: RouteHandler<typeof routes.deleteTenant, AppEnv> = async (c) => {
  const ifMatch = expectedRevision(c.req.valid('header')['if-match']);
  const { tenant: id } = c.req.valid('param');
  const proposal = await tenantDeletion(c.get('db'), id);
  if (!proposal.ok) return failureResponse(c, proposal.error);
  const change = await propose(c, proposal.value, ifMatch);
  return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
};
