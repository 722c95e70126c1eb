/**
 * Malformed-input fuzz over every operation of the OpenAPI document (issue
 * 11): random path parameters, query strings, bodies, media types and
 * headers, sent by a principal the route admits, so the request gets past
 * authentication to the parsers and services. Bad input must get a clear 4xx
 * problem+json — never a 5xx, never an error in another shape.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admin, call, mintToken, type Signer } from '../support/api';
import { operations } from '../support/operations';
import { tenantWithVm } from '../support/tenant';

const REQUESTS = 3200;

const weird = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    '0',
    '-1',
    '1e309',
    'NaN',
    'null',
    '..',
    '%',
    '%00',
    '\u0000',
    'vm_',
    `vm_${'Z'.repeat(26)}`,
    'ten_0',
    'x'.repeat(600),
    '__proto__',
    'constructor',
    '🙂',
  ),
  fc.integer().map(String),
);

const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(
    fc.constantFrom(
      'name',
      'vm',
      'disk',
      'vcpus',
      'memoryMiB',
      'diskGiB',
      'sizeGiB',
      'pages',
      'space',
      'start',
      'count',
      'mode',
      'seeds',
      'patch',
      'quota',
      'ownerKey',
      'publicKey',
      'scopes',
      'vms',
      'roles',
      'wrapped',
      'reasonCode',
      'operation',
      'index',
      'envelope',
    ),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  fc.record({
    pages: fc.array(fc.record({ index: fc.oneof(fc.integer(), fc.string()), envelope: fc.oneof(fc.string(), fc.base64String({ maxLength: 200 })) }), {
      maxLength: 3,
    }),
  }),
);

const bodyArb = fc.oneof(
  { weight: 4, arbitrary: jsonish.map((v) => ({ text: JSON.stringify(v) ?? 'null', type: 'application/json' })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((text) => ({ text, type: 'application/json' })) },
  {
    weight: 1,
    arbitrary: jsonish.map((v) => ({
      text: JSON.stringify(v) ?? '',
      type: fc.sample(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', ''), 1)[0]!,
    })),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const requestArb = fc.record({
  params: fc.dictionary(
    fc.constantFrom(
      'tenant',
      'vm',
      'disk',
      'snapshot',
      'key',
      'toolstack',
      'name',
      'plan',
      'request',
      'index',
      'version',
      'host',
      'change',
      'admin',
      'receipt',
    ),
    weird,
  ),
  query: fc.array(
    fc.tuple(
      fc.constantFrom(
        'pageSize',
        'pageToken',
        'start',
        'count',
        'from',
        'to',
        'limit',
        'index',
        'size',
        'vm',
        'label',
        'actor',
        'state',
        'tenant',
        'host',
        'name',
        'x',
      ),
      weird,
    ),
    { maxLength: 4 },
  ),
  body: bodyArb,
  headers: fc.dictionary(fc.constantFrom('If-Match', 'Idempotency-Key'), weird, { maxKeys: 2 }),
  keepValid: fc.boolean(),
});

describe('malformed-input fuzz', () => {
  it(`sends ${REQUESTS} malformed requests over every operation: no 5xx, every error problem+json`, { timeout: 600_000 }, async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const valid: Record<string, string> = { tenant: tenant.id, vm: vm.id };
    const failures: string[] = [];
    let sent = 0;
    const runsPer = Math.ceil(REQUESTS / operations.length);
    for (const { path, method } of operations) {
      const signer: Signer | null = path.startsWith('/v1/tenants/') ? owner : path.startsWith('/v1/admin/') ? admin : null;
      await fc.assert(
        fc.asyncProperty(requestArb, async ({ params, query, body: generated, headers, keepValid }) => {
          let body = generated;
          const url =
            path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(keepValid && valid[name] ? valid[name]! : (params[name] ?? 'x'))) +
            (query.length ? `?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : '');
          const token = signer ? await mintToken(signer, { claims: { scope: '' } }) : undefined;
          if (method === 'get') body = undefined; // fetch cannot send one (a raw client can: see abuse.test.ts)
          const res = await call(method.toUpperCase(), url, {
            ...(token ? { token } : { as: null }),
            ...(body ? { rawBody: body.text } : {}),
            headers: { ...headers, ...(body?.type !== undefined ? { 'Content-Type': body.type } : {}) },
          });
          sent++;
          // A live stream that was admitted never ends: its status and headers are the answer; the body is not awaited.
          if (res.ok && res.headers.get('Content-Type')?.startsWith('text/event-stream')) {
            await res.body?.cancel();
            return;
          }
          const text = await res.text();
          const what = `${method.toUpperCase()} ${url.slice(0, 160)} ${body?.text.slice(0, 80) ?? ''} → ${res.status} ${text.slice(0, 200)}`;
          if (res.status >= 500) failures.push(what);
          else if (res.status >= 400) {
            let problem: { code?: unknown; status?: unknown } = {};
            try {
              problem = JSON.parse(text);
            } catch {
              /* reported below */
            }
            if (res.headers.get('Content-Type') !== 'application/problem+json' || problem.status !== res.status || typeof problem.code !== 'string')
              failures.push(`not a problem: ${what}`);
          }
        }),
        { numRuns: runsPer, seed: 11 },
      );
    }
    expect(failures.slice(0, 20)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(3000);
  });
});
