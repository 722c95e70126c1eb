import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as plans from './plans.service';
import type * as routes from './plans.routes';

/** Record times are UTC ISO strings compared as text; bring any offset to that form. */
const utc = (t: string | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

function normalize(body: plans.PlanRequest): plans.PlanRequest {
  if (body.mode === 'replay') return { mode: 'replay', patch: { revoke: body.patch.revoke.map((r) => ({ principal: r.principal, from: utc(r.from)! })) } };
  const { from, to, ...rest } = body.seeds;
  return { mode: 'undo', seeds: { ...rest, ...(from ? { from: utc(from) } : {}), ...(to ? { to: utc(to) } : {}) } };
}

export const createRecoveryPlan: RouteHandler<typeof routes.createRecoveryPlan, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const result = await plans.createPlan(c.get('db'), c.get('audit').commit, tenant, normalize(c.req.valid('json')), c.get('reach'));
  if (!result.ok) return failureResponse(c, result.error);
  return c.json(result.value, 201, { Location: `/v1/tenants/${tenant}/recovery/plans/${result.value.id}` });
};

export const listRecoveryPlans: RouteHandler<typeof routes.listRecoveryPlans, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const list = `recovery/plans?tenant=${tenant}`;
  const request = decodePageRequest(list, c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await plans.listPlans(c.get('db'), tenant, request.value, c.get('reach')));
  return c.json({ plans: items, nextPageToken }, 200);
};

export const getRecoveryPlan: RouteHandler<typeof routes.getRecoveryPlan, AppEnv> = async (c) => {
  const { tenant, plan } = c.req.valid('param');
  const result = await plans.getPlan(c.get('db'), tenant, plan);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const applyRecoveryPlan: RouteHandler<typeof routes.applyRecoveryPlan, AppEnv> = async (c) => {
  const { tenant, plan } = c.req.valid('param');
  const result = await plans.applyPlan(c.get('db'), c.get('audit').commit, tenant, plan);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const revertRecoveryPlan: RouteHandler<typeof routes.revertRecoveryPlan, AppEnv> = async (c) => {
  const { tenant, plan } = c.req.valid('param');
  const result = await plans.revertPlan(c.get('db'), c.get('audit').commit, tenant, plan);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
