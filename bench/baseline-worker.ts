/**
 * Bench-only baseline: the same VM-create request as the real API — same
 * token verification, same placement and guarded INSERT from the same service
 * code — but its writes go straight to D1 in one batch, with no audit record,
 * no tree and no checkpoint. `npm run bench` compares the two.
 *
 * It also stores raw pages (`/raw/:vm/pages`): the same bytes as the
 * encrypted memory path, but plaintext, with no token, audit or envelope.
 */
import { Hono } from 'hono';
import { authenticate } from '../src/auth/middleware';
import { rejection, type Commit } from '../src/audit/log/commit';
import { createDb } from '../src/platform/db/client';
import type { AppEnv } from '../src/env';
import { requestId } from '../src/platform/middleware/request-id';
import { createVm } from '../src/provider/vms/vms.service';

const app = new Hono<AppEnv>();
app.use('*', requestId());
app.use('*', async (c, next) => {
  c.set('db', createDb(c.env.DB));
  await next();
});

app.post('/seed', async (c) => {
  const { host, tenant } = await c.req.json<{ host: string; tenant: string }>();
  await c.env.DB.batch([
    c.env.DB.prepare("INSERT INTO hosts (id, name, vcpus, memory_mib, disk_gib) VALUES (?, ?, 1000000, 1000000000, 1000)").bind(host, host),
    c.env.DB.prepare(
      "INSERT INTO tenants (id, name, owner_kid, owner_jwk, quota_vcpus, quota_memory_mib, quota_disk_gib) VALUES (?, ?, ?, '{}', 1000000, 1000000000, 1000)",
    ).bind(tenant, tenant, tenant),
    c.env.DB.prepare('CREATE TABLE IF NOT EXISTS bench_pages (vm TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (vm, idx))'),
  ]);
  return c.body(null, 204);
});

app.post('/v1/admin/tenants/:tenant/vms', authenticate({ consumeJti: 'now' }), async (c) => {
  const db = c.env.DB;
  const unaudited: Commit = async (writes) => {
    try {
      const results = await db.batch(writes.map((w) => db.prepare(w.sql).bind(...w.params)));
      return { ok: true, auditIndex: -1, log: '', rows: results.map((r) => (r.results ?? []) as Record<string, unknown>[]) };
    } catch (error) {
      const refused = rejection(String((error as Error).message));
      if (refused) return refused;
      throw error;
    }
  };
  const result = await createVm(c.get('db'), unaudited, c.req.param('tenant'), await c.req.json());
  return result.ok ? c.json(result.value, 201) : c.json(result.error, 409);
});

app.put('/raw/:vm/pages', async (c) => {
  const { pages } = await c.req.json<{ pages: { index: number; data: string }[] }>();
  const vm = c.req.param('vm');
  await c.env.DB.prepare(
    "INSERT INTO bench_pages (vm, idx, data) SELECT ?, json_extract(value, '$.index'), json_extract(value, '$.data') FROM json_each(?) WHERE true ON CONFLICT (vm, idx) DO UPDATE SET data = excluded.data",
  )
    .bind(vm, JSON.stringify(pages))
    .run();
  return c.json({ pages: pages.length });
});

app.get('/raw/:vm/pages', async (c) => {
  const start = Number(c.req.query('start'));
  const count = Number(c.req.query('count'));
  const { results } = await c.env.DB.prepare('SELECT idx AS "index", data FROM bench_pages WHERE vm = ? AND idx >= ? AND idx < ? ORDER BY idx')
    .bind(c.req.param('vm'), start, start + count)
    .all();
  return c.json({ pages: results });
});

export default app;
