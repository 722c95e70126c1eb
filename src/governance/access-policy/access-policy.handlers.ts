import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import * as policy from './access-policy.service';
import type * as routes from './access-policy.routes';

export const getAccessPolicy: RouteHandler<typeof routes.getAccessPolicy, AppEnv> = async (c) =>
  c.json({ rules: await policy.getPolicy(c.get('db'), c.req.valid('param').tenant) }, 200);

export const putAccessPolicy: RouteHandler<typeof routes.putAccessPolicy, AppEnv> = async (c) => {
  const set = await policy.putPolicy(c.get('db'), c.get('audit').commit, c.req.valid('param').tenant, c.req.valid('json').rules);
  return c.json({ rules: set }, 200);
};
