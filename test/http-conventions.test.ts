/**
 * HTTP conventions a browser or generic client relies on: 405 with `Allow`
 * (RFC 9110 §15.5.6), conditional GET with `If-None-Match` (§13.1.2), and
 * CORS for the origins the deployment allows (Fetch §3.2).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { originAllowed } from '../src/platform/middleware/cors';
import { noneMatch } from '../src/platform/middleware/conditional-get';
import { app, call, createHost, expectStatus } from './support/api';

const ALLOWED = env.CORS_ALLOWED_ORIGINS!.split(',')[0]!;

describe('a wrong method', () => {
  it('gets 405 with Allow, recorded like any request; an unknown path is still 404', async () => {
    const res = await call('DELETE', '/v1/health');
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('GET, HEAD');
    expect(res.headers.get('Custodes-Audit')).toBeTruthy();
    const problem = await res.json<{ code: string; allowed: string[] }>();
    expect(problem).toMatchObject({ code: 'method_not_allowed', allowed: ['GET', 'HEAD'] });
    expect((await call('PUT', '/v1/admin/hosts')).headers.get('Allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    // A custom method's path: only POST.
    expect((await call('GET', '/v1/admin/hosts/hst_00000000000000000000000000:drain')).headers.get('Allow')).toBe('POST');
    expect((await expectStatus(call('GET', '/v1/no-such-route'), 404)).code).toBe('route_not_found');
  });
});

describe('If-None-Match', () => {
  it('answers 304 with no body when the entity tag still matches, 200 otherwise', async () => {
    const host = await createHost();
    const first = await call('GET', `/v1/admin/hosts/${host.id}`);
    const etag = first.headers.get('ETag')!;
    expect(etag).toBeTruthy();
    const same = await call('GET', `/v1/admin/hosts/${host.id}`, { headers: { 'If-None-Match': etag } });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    expect(same.headers.get('ETag')).toBe(etag);
    expect(same.headers.get('Custodes-Audit')).toMatch(/^log=provider; index=\d+$/); // the read is still recorded
    await expectStatus(call('PATCH', `/v1/admin/hosts/${host.id}`, { body: { name: `${host.name}-renamed` } }), 200);
    const changed = await call('GET', `/v1/admin/hosts/${host.id}`, { headers: { 'If-None-Match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('ETag')).not.toBe(etag);
  });

  it('compares weakly and accepts lists and *', () => {
    expect(noneMatch('W/"3"', '"3"')).toBe(true);
    expect(noneMatch('"1", "3"', '"3"')).toBe(true);
    expect(noneMatch('*', '"9"')).toBe(true);
    expect(noneMatch('"4"', '"3"')).toBe(false);
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    app.request(
      '/v1/admin/hosts',
      {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
      },
      env,
    );

  it('passes a preflight from an allowed origin and refuses any other', async () => {
    const ok = await preflight(ALLOWED);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED);
    expect(ok.headers.get('Access-Control-Allow-Methods')).toContain('POST');
    expect(ok.headers.get('Access-Control-Allow-Headers')).toContain('Authorization');
    expect(ok.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect((await refused.json<{ code: string }>()).code).toBe('origin_not_allowed');
  });

  it('lets an allowed origin read answers and their audit header, and no other origin', async () => {
    const allowed = await call('GET', '/v1/admin/hosts', { headers: { Origin: ALLOWED } });
    expect(allowed.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED);
    expect(allowed.headers.get('Access-Control-Expose-Headers')).toContain('Custodes-Audit');
    const other = await call('GET', '/v1/admin/hosts', { headers: { Origin: 'https://evil.example' } });
    expect(other.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('never lets * match when credentials are on', () => {
    expect(originAllowed('https://a.example', '*', false)).toBe(true);
    expect(originAllowed('https://a.example', '*', true)).toBe(false);
    expect(originAllowed('https://a.example', 'https://a.example', true)).toBe(true);
    expect(originAllowed('https://b.example', 'https://a.example', false)).toBe(false);
  });
});

describe('the emulator controls outside emulator mode', () => {
  it('answer like any path without a route: nothing tells that they exist', async () => {
    const strip = (problem: { detail: string; requestId: string }) => ({
      ...problem,
      detail: problem.detail.replace(/^No route for \S+ \S+;/, 'No route for …;'),
      requestId: '',
    });
    const unknown = strip(await expectStatus(call('GET', '/no-such-path', { as: null }), 404));
    for (const [method, path] of [
      ['POST', 'reset'],
      ['POST', 'seed'],
      ['PUT', 'faults'],
      ['POST', 'clock'],
      ['GET', 'recorder.har'],
    ] as const) {
      const res = await call(method, `/_emulator/${path}`, { as: null, ...(method === 'GET' ? {} : { body: {} }) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(strip(await res.json())).toEqual(unknown);
    }
    const info = await expectStatus(call('GET', '/v1/info', { as: null }), 200);
    expect(info).toMatchObject({ mode: 'service', emulator: null });
  });
});
