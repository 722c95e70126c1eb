import type { RouteHandler } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../http/pagination';
import { failureResponse } from '../../http/problem';
import * as snapshots from '../../services/snapshots';
import type * as routes from './snapshots.routes';

/** A VM-limited token reaches only its VMs' snapshots (requireTenantPrincipal does the same for `{vm}` paths). */
function outsideToken(c: Context<AppEnv>, vm: string) {
  const allowed = c.get('principal').vms;
  return allowed && !allowed.includes(vm) ? failureResponse(c, { code: 'vm_not_allowed', detail: `The token is limited to VMs ${allowed.join(', ')}.` }) : null;
}

export const createSnapshot: RouteHandler<typeof routes.createSnapshot, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const input = c.req.valid('json');
  const refused = outsideToken(c, input.vm);
  if (refused) return refused;
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
  const { items, nextPageToken } = encodePage(list, await snapshots.listSnapshots(c.get('db'), tenant, request.value, vm));
  return c.json({ snapshots: items, nextPageToken }, 200);
};

export const getSnapshot: RouteHandler<typeof routes.getSnapshot, AppEnv> = async (c) => {
  const { tenant, snapshot } = c.req.valid('param');
  const result = await snapshots.getSnapshot(c.get('db'), tenant, snapshot);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const restoreSnapshot: RouteHandler<typeof routes.restoreSnapshot, AppEnv> = async (c) => {
  const { tenant, snapshot } = c.req.valid('param');
  const found = await snapshots.getSnapshot(c.get('db'), tenant, snapshot);
  const refused = found.ok ? outsideToken(c, found.value.vm) : null;
  if (refused) return refused;
  const result = await snapshots.restoreSnapshot(c.get('db'), c.get('audit').commit, tenant, snapshot);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
