/**
 * API errors as the SDK raises them: every non-2xx answer is an RFC 9457
 * problem document with a stable `code` (the API's conventions), surfaced as
 * `CustodesApiError`. Switch on `error.problem.code`, never on the message.
 */
import type { components } from './api-types.ts';

/** The problem document, typed from openapi.yaml; `http_error` marks an answer that was not one (a proxy's, say). */
export type Problem = Omit<components['schemas']['Problem'], 'code'> & { code: components['schemas']['Problem']['code'] | 'http_error' };

export class CustodesApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.title} (${problem.code}): ${problem.detail}`);
    this.name = 'CustodesApiError';
  }

  /** The problem a response carries; an answer that is not problem+json (a proxy's, say) becomes `http_error`. */
  static async fromResponse(response: Response): Promise<CustodesApiError> {
    const text = await response.text();
    try {
      const problem = JSON.parse(text) as Problem;
      if (typeof problem === 'object' && problem && typeof problem.code === 'string') return new CustodesApiError(problem);
    } catch {
      // not JSON: described below
    }
    const requestId = response.headers.get('X-Request-Id') ?? '';
    return new CustodesApiError({
      type: 'about:blank',
      title: response.statusText || 'HTTP error',
      status: response.status,
      detail: text.slice(0, 200),
      code: 'http_error',
      requestId,
    });
  }
}
