import type { RouteHandler } from '@hono/zod-openapi';
import type { Commit } from '../../audit/log/commit';
import { PROVIDER_LOG, tenantLog } from '../../audit/log/logs';
import { now } from '../../platform/clock';
import { revealSealsOf } from './seals';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as access from './access-requests.service';
import { createSnapshot } from '../../tenant/snapshots/snapshots.service';
import type * as routes from './access-requests.routes';

export const fileAccessRequest: RouteHandler<typeof routes.fileAccessRequest, AppEnv> = async (c) => {
  const input = c.req.valid('json');
  const principal = c.get('principal');
  const refused = access.filingProblem(input, principal.roles, now());
  if (refused) return failureResponse(c, refused);
  // A plain request is an operator's to file; break-glass and seals are a security admin's (filingProblem).
  if (!input.breakGlass && !input.sealUntil && !principal.roles.includes('operator')) {
    return failureResponse(c, {
      code: 'missing_role',
      detail: `Filing an access request needs role operator (break-glass and sealed ones: security); ${principal.id} has ${principal.roles.join(', ')}.`,
    });
  }
  const result = await access.fileAccessRequest(c.get('db'), c.get('audit').commit, principal.id, input);
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 201, { Location: `/v1/admin/access-requests/${result.value.id}` });
};

export const listAccessRequests: RouteHandler<typeof routes.listAccessRequests, AppEnv> = async (c) => {
  const { state, tenant, ...pageQuery } = c.req.valid('query');
  const list = `access-requests?state=${state ?? ''}&tenant=${tenant ?? ''}`;
  const request = decodePageRequest(list, pageQuery);
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await access.listAccessRequests(c.get('db'), request.value, { state, tenant }));
  return c.json({ accessRequests: items, nextPageToken }, 200);
};

export const getAccessRequest: RouteHandler<typeof routes.getAccessRequest, AppEnv> = async (c) => {
  const result = await access.getAccessRequest(c.get('db'), c.req.valid('param').request);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const useAccessRequest: RouteHandler<typeof routes.useAccessRequest, AppEnv> = async (c) => {
  const { request: id } = c.req.valid('param');
  const db = c.get('db');
  const request = await access.findAccessRequest(db, id);
  if (!request) return failureResponse(c, { code: 'not_found', detail: `Access request ${id} does not exist.` });
  const refused = () => access.approvalProblem(db, id, request.vm, request.operation);
  const problem = await refused();
  if (problem) return failureResponse(c, { code: 'access_not_approved', detail: problem });
  // The use is counted — and the approval re-checked — in the operation's own batch; its record
  // is in the tenant's log (the route's, by the request's owner) with a notice in the provider's.
  // A sealed request's is the provider's, with a sealed record in the tenant's from the same batch.
  const details = {
    accessRequest: id,
    vm: request.vm,
    operation: request.operation,
    reasonCode: request.reasonCode,
    ...(request.breakGlass ? { breakGlass: true } : {}),
  };
  const seal = request.sealUntil
    ? {
        id: `seal_${id.slice(4)}_${request.uses + 1}`,
        log: tenantLog(request.tenant),
        tenant: request.tenant,
        accessRequest: id,
        vm: request.vm,
        until: request.sealUntil,
      }
    : undefined;
  const commit: Commit = (writes, options = {}) =>
    c.get('audit').commit([...access.useOfApproval(id, request.vm, request.operation), ...writes], {
      ...options,
      details: { ...(options.details ?? {}), ...details },
      ...(seal ? { log: PROVIDER_LOG, notify: [], seal } : { notify: [PROVIDER_LOG] }),
    });
  try {
    const result = await createSnapshot(db, commit, request.tenant, { vm: request.vm, name: c.req.valid('json').name });
    if (!result.ok) return failureResponse(c, result.error);
    const { id: snapshotId, vm, name, pages, createdAt } = result.value;
    return c.json({ accessRequest: (await access.findAccessRequest(db, id))!, snapshot: { id: snapshotId, vm, name, pages, createdAt } }, 200);
  } catch (error) {
    const late = await refused(); // the approval expired or changed between the check and the batch
    if (late) return failureResponse(c, { code: 'access_not_approved', detail: late });
    throw error;
  }
};

export const approveAsSecondAdmin: RouteHandler<typeof routes.approveAsSecondAdmin, AppEnv> = async (c) => {
  const result = await access.decideAsSecondAdmin(c.get('db'), c.get('audit').commit, c.get('principal').id, c.req.valid('param').request, 'approve');
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const denyAsSecondAdmin: RouteHandler<typeof routes.denyAsSecondAdmin, AppEnv> = async (c) => {
  const result = await access.decideAsSecondAdmin(c.get('db'), c.get('audit').commit, c.get('principal').id, c.req.valid('param').request, 'deny');
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const unsealAccessRequest: RouteHandler<typeof routes.unsealAccessRequest, AppEnv> = async (c) => {
  const { request: id } = c.req.valid('param');
  const request = await access.findAccessRequest(c.get('db'), id);
  if (!request) return failureResponse(c, { code: 'not_found', detail: `Access request ${id} does not exist.` });
  if (!request.sealUntil) return failureResponse(c, { code: 'invalid_state', detail: `Access request ${id} is not sealed.` });
  const revealed = await revealSealsOf(c.env, id);
  return c.json({ accessRequest: (await access.findAccessRequest(c.get('db'), id))!, revealed }, 200);
};

export const tenantAccessRequests: RouteHandler<typeof routes.tenantAccessRequests, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const { state, ...pageQuery } = c.req.valid('query');
  const list = `tenant-access-requests?tenant=${tenant}&state=${state ?? ''}`;
  const request = decodePageRequest(list, pageQuery);
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await access.listAccessRequests(c.get('db'), request.value, { tenant, state }));
  return c.json({ accessRequests: items, nextPageToken }, 200);
};

export const tenantAccessRequest: RouteHandler<typeof routes.tenantAccessRequest, AppEnv> = async (c) => {
  const { tenant, request } = c.req.valid('param');
  const result = await access.getAccessRequest(c.get('db'), request, tenant);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const approveAccessRequest: RouteHandler<typeof routes.approveAccessRequest, AppEnv> = async (c) => {
  const { tenant, request } = c.req.valid('param');
  const result = await access.decideAccessRequest(c.get('db'), c.get('audit').commit, tenant, request, 'approve');
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const denyAccessRequest: RouteHandler<typeof routes.denyAccessRequest, AppEnv> = async (c) => {
  const { tenant, request } = c.req.valid('param');
  const result = await access.decideAccessRequest(c.get('db'), c.get('audit').commit, tenant, request, 'deny');
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
