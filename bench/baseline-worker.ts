/**
 * Bench-only baseline: the same VM-create request as the real API — same
 * token verification, same placement and guarded INSERT from the same service
 * code — but its writes go straight to D1 in one batch, with no audit record,
 * no tree and no checkpoint. `npm run bench` compares the two.
 *
 * It also stores raw pages (`/raw/:vm/pages`): the same bytes as the
 * encrypted memory path, but plaintext, with no token, audit or envelope —
 * binary batches stored as BLOBs, as the API carries and stores them.
 *
 * And the floor of an audited page batch (`/floor/:vm/pages`): the raw
 * write or read, plus — in the SAME D1 batch, so in one round trip — what
 * docs/design.md §5 and §6 add to it: a record-sized row naming every page
 * (64 regions), the flow index rows (`?flows=0` leaves them out), the tree
 * node and the guarded head update. No token, no signing, no envelope, no
 * Durable Object hop, no second round trip: nothing that keeps the rule
 * "the record commits before the answer" can be faster on this runtime.
 */
import { Hono, type Context } from 'hono';
import { hexOf, hexToBytes } from '../src/lib/bytes';
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
    c.env.DB.prepare('INSERT INTO hosts (id, name, vcpus, memory_mib, disk_gib) VALUES (?, ?, 1000000, 1000000000, 1000)').bind(host, host),
    c.env.DB.prepare(
      "INSERT INTO tenants (id, name, owner_kid, owner_jwk, quota_vcpus, quota_memory_mib, quota_disk_gib) VALUES (?, ?, ?, '{}', 1000000, 1000000000, 1000)",
    ).bind(tenant, tenant, tenant),
    c.env.DB.prepare('CREATE TABLE IF NOT EXISTS bench_pages (vm TEXT NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (vm, idx))'),
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

/**
 * Pages as the API now carries them (issue 34): a binary batch in, stored as BLOBs bound as hex
 * (`unhex(?)`, rows bound as plain parameters as content-statements.ts does), read as hex and sent
 * back as bytes — the same path, with the plaintext page (4096 bytes) where the API has an envelope.
 *
 *     request:  count u32 | count × (index u64 | page (4096))      answer (read): the same layout
 */
const PAGE = 4096;
const ENTRY = 8 + PAGE;

function framedPages(frame: Uint8Array): { index: number; hex: string }[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0);
  if (frame.length !== 4 + count * ENTRY) throw new Error('not a page frame');
  return Array.from({ length: count }, (_, i) => ({
    index: Number(view.getBigUint64(4 + i * ENTRY)),
    hex: hexOf(frame.subarray(4 + i * ENTRY + 8, 4 + (i + 1) * ENTRY)),
  }));
}

function pagesFrame(rows: { index: number; data: string }[]): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(4 + rows.length * ENTRY);
  const view = new DataView(frame.buffer);
  view.setUint32(0, rows.length);
  rows.forEach((row, i) => {
    view.setBigUint64(4 + i * ENTRY, BigInt(row.index));
    frame.set(hexToBytes(row.data), 4 + i * ENTRY + 8);
  });
  return frame;
}

/** 1 fixed parameter + 2 per row ≤ 100 (D1's limit per statement). */
const ROWS_PER_INSERT = 49;

function pageInserts(db: D1Database, vm: string, pages: { index: number; hex: string }[]): D1PreparedStatement[] {
  const inserts: D1PreparedStatement[] = [];
  for (let at = 0; at < pages.length; at += ROWS_PER_INSERT) {
    const chunk = pages.slice(at, at + ROWS_PER_INSERT);
    inserts.push(
      db
        .prepare(
          `INSERT INTO bench_pages (vm, idx, data) SELECT ?, column1, unhex(column2) FROM (VALUES ${chunk.map(() => '(?, ?)').join(', ')})
           WHERE true ON CONFLICT (vm, idx) DO UPDATE SET data = excluded.data`,
        )
        .bind(vm, ...chunk.flatMap((p) => [p.index, p.hex])),
    );
  }
  return inserts;
}

const pagesQuery = (db: D1Database, vm: string, start: number, count: number) =>
  db.prepare('SELECT idx AS "index", hex(data) AS data FROM bench_pages WHERE vm = ? AND idx >= ? AND idx < ? ORDER BY idx').bind(vm, start, start + count);

const framed = (c: Context<AppEnv>, rows: { index: number; data: string }[]) => c.body(pagesFrame(rows), 200, { 'Content-Type': 'application/octet-stream' });

app.put('/raw/:vm/pages', async (c) => {
  const pages = framedPages(new Uint8Array(await c.req.arrayBuffer()));
  await c.env.DB.batch(pageInserts(c.env.DB, c.req.param('vm'), pages));
  return c.json({ pages: pages.length });
});

app.get('/raw/:vm/pages', async (c) => {
  const { results } = await pagesQuery(c.env.DB, c.req.param('vm'), Number(c.req.query('start')), Number(c.req.query('count'))).all<{
    index: number;
    data: string;
  }>();
  return framed(c, results);
});

let next = 0;
/** One log per isolate, so its indexes count from 0 (random values are not allowed at global scope). */
let floorLog = '';

/** The statements an audited page batch adds to its data statement (see the header). */
function auditFloor(db: D1Database, vm: string, indexes: number[], kind: 'read' | 'write', flows: boolean): D1PreparedStatement[] {
  const index = next++;
  floorLog ||= `floor-${crypto.randomUUID().slice(0, 8)}`;
  const time = new Date().toISOString();
  // The JWS of a record naming these pages: its regions, base64url-encoded, as the real one carries them.
  const regions = indexes.map((i) => ({ space: 'memory', resource: vm, index: i, version: 1, digest: `sha256:${'ab'.repeat(32)}`, access: kind }));
  const jws = `eyJhbGciOiJFZERTQSJ9.${Buffer.from(JSON.stringify({ v: 1, log: floorLog, index, time, regions, pad: 'x'.repeat(700) })).toString('base64url')}.${'s'.repeat(86)}`;
  const rows = JSON.stringify(indexes.map((i) => [kind, 'memory', vm, i, 1, null]));
  return [
    db
      .prepare('INSERT INTO audit_records (log, idx, jws, time, action, actor_id, outcome, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .bind(floorLog, index, jws, time, `memory.${kind}`, 'tk_floor', 'allowed', 'floor'),
    ...(flows
      ? [
          db
            .prepare(
              `INSERT INTO content_flows (log, audit_index, kind, space, resource_id, idx, version, copy_of, jti, session, actor_type, actor_id, time)
               SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?, 'floor', 'toolstack', 'tk_floor', ? FROM json_each(?)`,
            )
            .bind(floorLog, index, crypto.randomUUID(), time, rows),
        ]
      : []),
    db.prepare('INSERT INTO audit_nodes (log, level, idx, hash) VALUES (?, 0, ?, ?)').bind(floorLog, index, 'ab'.repeat(32)),
    db
      .prepare(
        `INSERT INTO audit_logs (log, size, root, frontier, checkpoint, updated_at) VALUES (?, ?, ?, '[]', ?, ?)
         ON CONFLICT (log) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at WHERE size = ?`,
      )
      .bind(floorLog, index + 1, 'cd'.repeat(32), 'y'.repeat(200), time, index),
    db.prepare("INSERT INTO write_assertions (label, expected, actual) VALUES ('audit head', 1, changes())"),
  ];
}

app.put('/floor/:vm/pages', async (c) => {
  const pages = framedPages(new Uint8Array(await c.req.arrayBuffer()));
  const vm = c.req.param('vm');
  const db = c.env.DB;
  const t0 = performance.now();
  await db.batch([
    ...pageInserts(db, vm, pages),
    ...auditFloor(
      db,
      vm,
      pages.map((p) => p.index),
      'write',
      c.req.query('flows') !== '0',
    ),
  ]);
  c.header('Server-Timing', `batch;dur=${performance.now() - t0}`); // beside the API's seq.batch (bench/breakdown.ts)
  return c.json({ pages: pages.length });
});

app.get('/floor/:vm/pages', async (c) => {
  const start = Number(c.req.query('start'));
  const count = Number(c.req.query('count'));
  const vm = c.req.param('vm');
  const db = c.env.DB;
  const [read] = await db.batch<{ index: number; data: string }>([
    pagesQuery(db, vm, start, count),
    ...auditFloor(
      db,
      vm,
      Array.from({ length: count }, (_, i) => start + i),
      'read',
      c.req.query('flows') !== '0',
    ),
  ]);
  return framed(c, read!.results);
});

export default app;
