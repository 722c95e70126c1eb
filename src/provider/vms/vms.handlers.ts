import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { etag, expectedRevision } from '../../platform/http/etag';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import { vmDeletion } from '../../governance/changes/change-operations';
import * as vms from './vms.service';
import { changeLocation, propose } from '../../governance/changes/changes.handlers';
import type * as routes from './vms.routes';

export const createVm: RouteHandler<typeof routes.createVm, AppEnv> = async (c) => {
  const result = await vms.createVm(c.get('db'), c.get('audit').commit, c.req.valid('param').tenant, c.req.valid('json'));
  if (!result.ok) return failureResponse(c, result.error);
  const vm = result.value;
  return c.json(vm, 201, { ETag: etag(vm.revision), Location: `/v1/admin/vms/${vm.id}` });
};

export const listVms: RouteHandler<typeof routes.listVms, AppEnv> = async (c) => {
  const { tenant, host, ...pageQuery } = c.req.valid('query');
  // The filter is part of the list's identity: a token from another filter is refused.
  const list = `vms?tenant=${tenant ?? ''}&host=${host ?? ''}`;
  const request = decodePageRequest(list, pageQuery);
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await vms.listVms(c.get('db'), request.value, { tenant, host }));
  return c.json({ vms: items, nextPageToken }, 200);
};

export const getVm: RouteHandler<typeof routes.getVm, AppEnv> = async (c) => {
  const result = await vms.getVm(c.get('db'), c.req.valid('param').vm);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200, { ETag: etag(result.value.revision) });
};

export const patchVm: RouteHandler<typeof routes.patchVm, AppEnv> = async (c) => {
  const ifMatch = expectedRevision(c.req.valid('header')['if-match']);
  const result = await vms.resizeVm(c.get('db'), c.get('audit').commit, c.req.valid('param').vm, c.req.valid('json'), ifMatch);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200, { ETag: etag(result.value.revision) });
};

export const deleteVm: RouteHandler<typeof routes.deleteVm, AppEnv> = async (c) => {
  const ifMatch = expectedRevision(c.req.valid('header')['if-match']);
  const { vm: id } = c.req.valid('param');
  const proposal = await vmDeletion(c.get('db'), id);
  if (!proposal.ok) return failureResponse(c, proposal.error);
  const change = await propose(c, proposal.value, ifMatch);
  return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
};

export const migrateVm: RouteHandler<typeof routes.migrateVm, AppEnv> = async (c) => {
  const result = await vms.migrateVm(c.get('db'), c.get('audit').commit, c.req.valid('param').vm, c.req.valid('json').host);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 200);
};
