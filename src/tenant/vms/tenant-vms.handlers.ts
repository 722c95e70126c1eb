import type { Context } from 'hono';
import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { etag } from '../../platform/http/etag';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse, problemResponse } from '../../platform/http/problem';
import * as vms from '../../provider/vms/vms.service';
import { powerVm, type PowerAction } from './power.service';
import type * as routes from './tenant-vms.routes';
import { NOT_YOURS } from '../../lib/problems';

export const listTenantVms: RouteHandler<typeof routes.listTenantVms, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const list = `tenant-vms?tenant=${tenant}`;
  const request = decodePageRequest(list, c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const page = await vms.listVms(c.get('db'), request.value, { tenant, reach: c.get('reach') });
  const { items, nextPageToken } = encodePage(list, page);
  return c.json({ vms: items, nextPageToken }, 200);
};

export const createTenantVm: RouteHandler<typeof routes.createTenantVm, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const result = await vms.createVm(c.get('db'), c.get('audit').commit, tenant, c.req.valid('json'));
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 201, { ETag: etag(result.value.revision), Location: `/v1/tenants/${tenant}/vms/${result.value.id}` });
};

/** The VM if it is this tenant's; another tenant's VM is as absent as a made-up id. */
async function ownVm(c: Context<AppEnv>, tenant: string, id: string) {
  const vm = await vms.findVm(c.get('db'), id);
  return vm && vm.tenant === tenant ? vm : null;
}

const notYours = (c: Context<AppEnv>) => problemResponse(c, 'not_found', NOT_YOURS);

export const getTenantVm: RouteHandler<typeof routes.getTenantVm, AppEnv> = async (c) => {
  const { tenant, vm } = c.req.valid('param');
  const found = await ownVm(c, tenant, vm);
  return found ? c.json(found, 200, { ETag: etag(found.revision) }) : notYours(c);
};

const power =
  (action: PowerAction): RouteHandler<typeof routes.startTenantVm, AppEnv> =>
  async (c) => {
    const { tenant, vm } = c.req.valid('param');
    const result = await powerVm(c.get('db'), c.get('audit').commit, tenant, vm, action);
    return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
  };

export const startTenantVm = power('start');
export const stopTenantVm = power('stop');
export const pauseTenantVm = power('pause');
