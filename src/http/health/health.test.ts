import { describe, expect, it } from 'vitest';
import { call, expectStatus } from '../../../test/support/api';

describe('health and conventions', () => {
  it('answers health without a token, with a request id', async () => {
    const res = await call('GET', '/v1/health', { as: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Request-Id')).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('answers unknown routes with problem+json 404', async () => {
    const res = await call('GET', '/v1/nope', { as: null });
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    const problem = await res.json<any>();
    expect(problem).toMatchObject({ status: 404, code: 'route_not_found', type: 'urn:custodes:problem:route_not_found' });
    expect(problem.requestId).toBe(res.headers.get('X-Request-Id'));
  });

  it('lists hosts as the bootstrap admin', async () => {
    const body = await expectStatus(call('GET', '/v1/admin/hosts'), 200);
    expect(Array.isArray(body.hosts)).toBe(true);
  });
});
