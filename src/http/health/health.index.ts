import { z } from '@hono/zod-openapi';
import { jsonContent } from '../../platform/http/responses';
import { publicRoute } from '../route-factories';
import { createRouter } from '../../platform/http/router';

export { API_VERSION } from '../../platform/version';
import { API_VERSION } from '../../platform/version';

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
