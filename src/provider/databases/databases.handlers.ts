import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { D1_DATABASE_LIMIT_BYTES, databaseUsage } from './databases.service';
import type * as routes from './databases.routes';

export const listDatabases: RouteHandler<typeof routes.listDatabases, AppEnv> = async (c) =>
  c.json({ databases: await databaseUsage(c.env), limitBytes: D1_DATABASE_LIMIT_BYTES }, 200);
