import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { exposureReport as report } from './exposure.service';
import type * as routes from './exposure.routes';

export const exposureReport: RouteHandler<typeof routes.exposureReport, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const query = c.req.valid('query');
  // Times compare as text in the index, so bring offsets to UTC 'Z' first.
  const utc = (t?: string) => (t ? new Date(t).toISOString() : undefined);
  return c.json({ labels: await report(c.get('db'), tenant, c.get('reach'), { ...query, from: utc(query.from), to: utc(query.to) }) }, 200);
};
