import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { problemResponse } from './problem';

/** A router whose validation failures are problem+json: 400 `invalid_request` with per-field `errors`. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const errors = result.error.issues.map((issue) => ({
        path: [result.target, ...issue.path.map(String)].join('.'),
        message: issue.message,
      }));
      const summary = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
      return problemResponse(c, 'invalid_request', summary, { errors });
    },
  });
}
