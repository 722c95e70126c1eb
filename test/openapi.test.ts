/**
 * The published contract: every registered route is documented, every admin
 * operation declares its auth problems, and no admin route can reach guest
 * memory or disk contents (docs/design.md §1, §3).
 */
import { describe, expect, it } from 'vitest';
import { createApp, openApiDocument } from '../src/app';
import { z } from '@hono/zod-openapi';
import { wholeNumber } from '../src/platform/http/params';
import { publicPath } from '../src/platform/http/paths';
import { requirePathParams } from '../src/http/route-factories';
import { PROBLEMS } from '../src/lib/problems';

const app = createApp();
const document = openApiDocument(app);
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

const operations = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
  METHODS.filter((m) => (item as Record<string, unknown>)[m]).map((method) => ({
    path,
    method,
    op: (item as Record<string, any>)[method],
  })),
);

describe('OpenAPI document', () => {
  it('documents every registered /v1 route', () => {
    const documented = new Set(operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    const registered = app.routes
      .filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL' && !r.path.endsWith('*'))
      .map((r) => `${r.method} ${publicPath(r.path.replace(/:(\w+)/g, '{$1}'))}`);
    expect(registered.length).toBeGreaterThan(10);
    for (const route of registered) expect(documented, route).toContain(route);
  });

  it('gives every operation an operationId and declares 401/403 on authenticated ones', () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, op } of operations.filter((o) => o.path.startsWith('/v1/admin'))) {
      expect(op.security, path).toEqual([{ principalToken: [] }]);
      expect(Object.keys(op.responses), path).toEqual(expect.arrayContaining(['400', '401', '403']));
      expect(op.description, path).toMatch(/Requires an admin token with role/);
    }
  });

  it('has no admin route to guest memory or disk contents', () => {
    const contentWords = /memory\/|pages|blocks|disks\/|snapshot|envelope|contents?\b|console|exec/i;
    const adminOps = operations.filter((o) => o.path.startsWith('/v1/admin'));
    expect(adminOps.length).toBeGreaterThan(10);
    for (const { path, method, op } of adminOps) {
      expect(path, `${method} ${path}`).not.toMatch(contentWords);
      // Schemas only: problem descriptions list every code of a status, content codes included.
      const schemas = JSON.stringify([op.requestBody ?? {}, op.responses], (key, value) => (key === 'description' ? undefined : value));
      expect(schemas, `${method} ${path}`).not.toMatch(/envelope|ciphertext|plaintext/i);
    }
  });

  it('declares every path parameter required and never nullable, and every tag it uses', () => {
    const declaredTags = new Set((document.tags ?? []).map((t) => t.name));
    for (const { path, method, op } of operations) {
      for (const param of (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path')) {
        expect(param.required, `${method} ${path} {${param.name}}`).toBe(true);
        expect(param.schema.type, `${method} ${path} {${param.name}}`).not.toContain('null');
      }
      for (const tag of op.tags ?? []) expect(declaredTags, `${method} ${path}`).toContain(tag);
    }
  });

  it('names operations verb first, declares the headers the platform sets, and documents the record payload', () => {
    const verbs =
      /^(list|get|create|put|patch|delete|store|register|set|disable|approve|deny|cancel|use|file|propose|apply|revert|restore|attach|detach|drain|migrate|revoke|start|stop|pause|read|write|open|purge|reenable|reveal)[A-Z]/;
    for (const { op } of operations) expect(op.operationId).toMatch(verbs);
    for (const { path, method, op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, { headers?: Record<string, unknown> }>)) {
        expect(Object.keys(response.headers ?? {}), `${method} ${path} ${status}`).toContain('X-Request-Id');
        if (path.startsWith('/v1/')) expect(Object.keys(response.headers ?? {}), `${method} ${path} ${status}`).toContain('Custodes-Audit');
        if (status === '429') expect(Object.keys(response.headers ?? {})).toContain('Retry-After');
      }
    }
    const records = operations.find((o) => o.op.operationId === 'listTenantAuditRecords')!;
    const jws = records.op.responses['200'].content['application/json'].schema;
    expect(JSON.stringify(document.components?.schemas?.AuditRecordPage ?? jws)).toContain('#/components/schemas/AuditRecord');
    expect(document.components?.schemas?.AuditRecord).toBeDefined();
  });

  it('lists on each operation only the problem codes it can return, each under its own status', () => {
    const codesOf = (op: any): string[] => Object.values(op.responses).flatMap((r: any) => r['x-custodes-problems'] ?? []);
    const byId = new Map(operations.map((o) => [o.op.operationId, codesOf(o.op)]));
    for (const { path, method, op } of operations) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        const codes: string[] = response['x-custodes-problems'] ?? [];
        for (const code of codes) expect(PROBLEMS[code as keyof typeof PROBLEMS]?.status, `${method} ${path} ${code}`).toBe(Number(status));
        if (codes.length) expect(response.description).toBe(`Problem: ${codes.map((c) => `\`${c}\``).join(', ')}.`);
      }
    }
    // The findings of issue 13: envelope codes only where envelopes are sent, a body's codes only where there is a body.
    expect(byId.get('deleteTenant')).not.toContain('invalid_envelope');
    expect(byId.get('deleteTenant')).toEqual(expect.arrayContaining(['not_found', 'resource_in_use', 'body_not_allowed', 'missing_role']));
    expect(byId.get('deleteTenant')).not.toContain('malformed_json');
    expect(byId.get('writeMemoryPages')).toEqual(expect.arrayContaining(['invalid_envelope', 'index_out_of_range', 'malformed_json', 'vm_not_allowed']));
    expect(byId.get('getHealth')).not.toContain('token_missing');
    expect(byId.get('listHosts')).toContain('invalid_page_token');
    expect(byId.get('getHost')).not.toContain('invalid_page_token');
    const withEnvelopes = operations
      .filter((o) => codesOf(o.op).includes('invalid_envelope'))
      .map((o) => o.op.operationId)
      .sort();
    expect(withEnvelopes).toEqual(['writeDiskBlocks', 'writeMemoryPages']);
    // `code` stays an open string: a new code must not break a client that validates responses.
    const problem = (document.components?.schemas as any)?.Problem;
    expect(problem.properties.code.type).toBe('string');
    expect(problem.properties.code.enum).toBeUndefined();
  });

  it('refuses, where a route is declared, a path parameter that accepts nothing or null', () => {
    const route = (index: z.ZodType) => ({ path: '/t/{index}', request: { params: z.object({ index }) } });
    expect(() => requirePathParams(route(z.coerce.number().int().min(0)))).toThrow(/path parameter \{index\} must be required/);
    expect(() => requirePathParams(route(z.string().optional()))).toThrow(/must be required/);
    expect(() => requirePathParams(route(wholeNumber()))).not.toThrow();
  });

  it('serves the same document live', async () => {
    const { env } = await import('cloudflare:test');
    const res = await app.request('http://custodes.test:9999/openapi.json', {}, env);
    expect(res.status).toBe(200);
    const served = await res.json<typeof document>();
    // Its server is the origin it was fetched from; the rest is the committed document.
    expect(served.servers).toEqual([{ url: 'http://custodes.test:9999', description: 'This server' }]);
    expect({ ...served, servers: document.servers }).toEqual(JSON.parse(JSON.stringify(document)));
  });
});
