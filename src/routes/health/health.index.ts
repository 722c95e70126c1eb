import { createRoute, z } from '@hono/zod-openapi';
import { jsonContent } from '../../http/openapi';
import { createRouter } from '../../http/router';

export const API_VERSION = '0.1.0';

const health = createRoute({
  operationId: 'getHealth',
  method: 'get',
  path: '/health',
  security: [],
  tags: ['health'],
  summary: 'Liveness',
  description: 'Answers without authentication or storage access: the baseline of `npm run bench`.',
  responses: {
    200: jsonContent(z.object({ status: z.literal('ok'), version: z.string() }).openapi('Health'), 'The Worker is up.'),
  },
});

export const healthRouter = createRouter().openapi(health, (c) => c.json({ status: 'ok' as const, version: API_VERSION }, 200));
