import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { readPages, readVersion, writePages } from './contents.handlers';
import type * as routes from './memory.routes';

export const writeMemoryPages: RouteHandler<typeof routes.writeMemoryPages, AppEnv> = async (c) => {
  const { tenant, vm } = c.req.valid('param');
  return writePages(c, 'memory', tenant, vm, c.req.valid('json').pages) as never;
};

export const readMemoryPages: RouteHandler<typeof routes.readMemoryPages, AppEnv> = async (c) => {
  const { tenant, vm } = c.req.valid('param');
  const { start, count } = c.req.valid('query');
  return readPages(c, 'memory', tenant, vm, start, count) as never;
};

export const readMemoryPageVersion: RouteHandler<typeof routes.readMemoryPageVersion, AppEnv> = async (c) => {
  const { tenant, vm, index, version } = c.req.valid('param');
  return readVersion(c, 'memory', tenant, vm, index, version) as never;
};
