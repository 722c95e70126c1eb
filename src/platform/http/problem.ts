/**
 * Problem responses (RFC 9457), the one way errors leave the API. Every
 * response — success or not — carries `X-Request-Id`; problem bodies repeat it
 * as `requestId` so a pasted error is enough to find the request.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../env';
import { PROBLEMS, problemDocument, type ProblemCode } from '../../lib/problems';
import type { Failure } from '../../lib/result';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Typed `never` on purpose: route handlers return a union of typed success
 * responses, and a problem may stand in for any of them. The problem responses
 * are declared in the OpenAPI document per route (`problemResponses`).
 */
export type ProblemResponse = never;

export function problemResponse(
  c: Context<AppEnv>,
  code: ProblemCode,
  detail: string,
  extensions?: Record<string, unknown>,
  headers: Record<string, string> = {},
): ProblemResponse {
  const body = problemDocument(code, detail, c.get('requestId') ?? 'unknown', extensions);
  c.set('problemCode', code);
  return c.body(JSON.stringify(body), PROBLEMS[code].status as ContentfulStatusCode, {
    ...headers,
    'Content-Type': PROBLEM_CONTENT_TYPE,
  }) as ProblemResponse;
}

/** Maps a service failure to its problem response. */
export const failureResponse = (c: Context<AppEnv>, failure: Failure, headers?: Record<string, string>): ProblemResponse =>
  problemResponse(c, failure.code, failure.detail, failure.extensions, headers);
