import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { emulatorEnabled } from '../../emulator/mode';
import { failureResponse } from '../../platform/http/problem';
import * as alerts from './alerts.service';
import type * as routes from './alerts.routes';

export const createAlert: RouteHandler<typeof routes.createAlert, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const result = await alerts.createAlert(c.get('db'), c.get('audit').commit, tenant, c.req.valid('json'), emulatorEnabled(c.env));
  return result.ok ? c.json(result.value, 201, { Location: `/v1/tenants/${tenant}/alerts/${result.value.id}` }) : failureResponse(c, result.error);
};

export const listAlerts: RouteHandler<typeof routes.listAlerts, AppEnv> = async (c) => c.json({ alerts: await alerts.listAlerts(c.get('db'), c.req.valid('param').tenant) }, 200);

export const deleteAlert: RouteHandler<typeof routes.deleteAlert, AppEnv> = async (c) => {
  const { tenant, alert } = c.req.valid('param');
  const result = await alerts.deleteAlert(c.get('db'), c.get('audit').commit, tenant, alert);
  return result.ok ? c.body(null, 204) : failureResponse(c, result.error);
};
