import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { checkWebhook } from './deliveries';
import { failureResponse } from '../../platform/http/problem';
import * as alerts from './alerts.service';
import type * as routes from './alerts.routes';

export const createAlert: RouteHandler<typeof routes.createAlert, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  // The emulator never delivers to itself: its own origin as this request reached it, if the launcher did not say.
  const env = { ...c.env, CUSTODES_ORIGIN: c.env.CUSTODES_ORIGIN ?? new URL(c.req.url).origin };
  const result = await alerts.createAlert(c.get('db'), c.get('audit').commit, tenant, c.req.valid('json'), (url) => checkWebhook(env, url));
  return result.ok ? c.json(result.value, 201, { Location: `/v1/tenants/${tenant}/alerts/${result.value.id}` }) : failureResponse(c, result.error);
};

export const listAlerts: RouteHandler<typeof routes.listAlerts, AppEnv> = async (c) =>
  c.json({ alerts: await alerts.listAlerts(c.get('db'), c.req.valid('param').tenant) }, 200);

export const deleteAlert: RouteHandler<typeof routes.deleteAlert, AppEnv> = async (c) => {
  const { tenant, alert } = c.req.valid('param');
  const result = await alerts.deleteAlert(c.get('db'), c.get('audit').commit, tenant, alert);
  return result.ok ? c.body(null, 204) : failureResponse(c, result.error);
};

export const listDeliveries: RouteHandler<typeof routes.listDeliveries, AppEnv> = async (c) => {
  const { tenant, alert } = c.req.valid('param');
  const result = await alerts.listDeliveries(c.get('db'), tenant, alert, c.req.valid('query').limit);
  return result.ok ? c.json({ deliveries: result.value }, 200) : failureResponse(c, result.error);
};
