import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { failureResponse } from '../../platform/http/problem';
import * as rotations from './rotations.service';
import type * as routes from './rotations.routes';

export const recordRotation: RouteHandler<typeof routes.recordRotation, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const result = await rotations.recordRotation(c.get('db'), c.get('audit').commit, tenant, c.req.valid('json'));
  return result.ok ? c.json(result.value, 201) : failureResponse(c, result.error);
};
