import { z } from '@hono/zod-openapi';
import { jsonContent } from '../http/responses';
import { publicRoute } from '../http/route-factories';
import { createRouter } from '../http/router';

export const API_VERSION = '0.1.0';

const health = publicRoute({
  operationId: 'getHealth',
  action: 'health.read',
  method: 'get',
  path: '/health',
  tags: ['health'],
  summary: 'Liveness',
  description: 'Answers without authentication; like every /v1 request it leaves an audit record (provider log).',
  responses: {
    200: jsonContent(z.object({ status: z.literal('ok'), version: z.string() }).openapi('Health'), 'The Worker is up.'),
  },
});

export const healthRouter = createRouter().openapi(health, (c) => c.json({ status: 'ok' as const, version: API_VERSION }, 200));
