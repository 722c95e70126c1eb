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
 *
 * And the floor under the design's own rules (`/design-floor/:vm/pages`):
 * the floor, plus what docs/design.md requires of every content request and
 * the floor leaves out — a fresh signed token verified, its `jti` spent in the
 * batch (§3), each page's ciphertext SHA-256 in the record, the record and a
 * checkpoint signed (Ed25519) before the answer, appends to a log serialized
 * through one Durable Object that holds the Merkle frontier (§5) — with the
 * API's own code for each (authenticate, signRecord, appendLeaf,
 * signCheckpoint, recordStatements, headStatements). Its pages are envelopes
 * sealed by its client (§4: contents are encrypted client-side), and a read
 * answers with its own signed record, whose digests its client checks every
 * envelope against before decrypting (§4) — the client's half of the floor is
 * in bench/contents.ts. Nothing else of the API: no versions, heads, guards,
 * extensions, write records served with reads, emulator middleware or rate limit.
 */
import { createHash } from 'node:crypto';
import { DurableObject } from 'cloudflare:workers';
import { Hono, type Context } from 'hono';
import type { Frontier } from '../src/audit/format/merkle';
import type { Region } from '../src/audit/format/record';
import { auditSigningKey } from '../src/audit/signing/signing-key';
import { commitFloorRecord, floorHead, floorRecord } from './floor-log';
import { bytesOfStoredHex, hexOf } from '../src/lib/bytes';
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
  // `owner`: the tenant's owner key (kid and public JWK), for the design floor's tokens.
  const { host, tenant, owner } = await c.req.json<{ host: string; tenant: string; owner?: { kid: string; jwk: object } }>();
  await c.env.DB.batch([
    c.env.DB.prepare('INSERT INTO hosts (id, name, vcpus, memory_mib, disk_gib) VALUES (?, ?, 1000000, 1000000000, 1000)').bind(host, host),
    c.env.DB.prepare(
      'INSERT INTO tenants (id, name, owner_kid, owner_jwk, quota_vcpus, quota_memory_mib, quota_disk_gib) VALUES (?, ?, ?, ?, 1000000, 1000000000, 1000)',
    ).bind(tenant, tenant, owner?.kid ?? tenant, JSON.stringify(owner?.jwk ?? {})),
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
 *     request:  count u32 | count × (index u64 | page)      answer (read): the same layout [| length u32 | record JWS]
 *
 * A page is 4096 bytes of plaintext (/raw, /floor) or a 4141-byte envelope (/design-floor); the frame's length says which.
 */
function framedPages(frame: Uint8Array): { index: number; bytes: Uint8Array; hex: string }[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0);
  const entry = count > 0 ? (frame.length - 4) / count : 0;
  if (!Number.isInteger(entry) || entry <= 8) throw new Error('not a page frame');
  return Array.from({ length: count }, (_, i) => {
    const bytes = frame.subarray(4 + i * entry + 8, 4 + (i + 1) * entry);
    return { index: Number(view.getBigUint64(4 + i * entry)), bytes, hex: hexOf(bytes) };
  });
}

/** The rows' pages as a frame; `record`, the design floor's signed record of the read, after them. */
function pagesFrame(rows: { index: number; data: string }[], record?: string): Uint8Array<ArrayBuffer> {
  const entry = 8 + (rows[0]?.data.length ?? 0) / 2;
  const trailer = record === undefined ? null : new TextEncoder().encode(record);
  const end = 4 + rows.length * entry;
  const frame = new Uint8Array(end + (trailer ? 4 + trailer.length : 0));
  const view = new DataView(frame.buffer);
  view.setUint32(0, rows.length);
  rows.forEach((row, i) => {
    view.setBigUint64(4 + i * entry, BigInt(row.index));
    frame.set(bytesOfStoredHex(row.data), 4 + i * entry + 8); // as the API decodes its pages (lib/bytes)
  });
  if (trailer) {
    view.setUint32(end, trailer.length);
    frame.set(trailer, end + 4);
  }
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

const framed = (c: Context<AppEnv>, rows: { index: number; data: string }[], record?: string) =>
  c.body(pagesFrame(rows, record), 200, { 'Content-Type': 'application/octet-stream' });

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

/** The flow index's rows of a page batch (one per page, version 1), as the API's flow index writes them. */
function flowRows(
  db: D1Database,
  f: {
    log: string;
    index: number;
    kind: 'read' | 'write';
    vm: string;
    indexes: number[];
    jti: string;
    session: string;
    actor: { type: string; id: string };
    time: string;
  },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO content_flows (log, audit_index, kind, space, resource_id, idx, version, copy_of, jti, session, actor_type, actor_id, time)
       SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?, ?, ?, ?, ? FROM json_each(?)`,
    )
    .bind(f.log, f.index, f.jti, f.session, f.actor.type, f.actor.id, f.time, JSON.stringify(f.indexes.map((i) => [f.kind, 'memory', f.vm, i, 1, null])));
}

/** The statements an audited page batch adds to its data statement (see the header). */
function auditFloor(db: D1Database, vm: string, indexes: number[], kind: 'read' | 'write', flows: boolean): D1PreparedStatement[] {
  const index = next++;
  floorLog ||= `floor-${crypto.randomUUID().slice(0, 8)}`;
  const time = new Date().toISOString();
  // The JWS of a record naming these pages: its regions, base64url-encoded, as the real one carries them.
  const regions = indexes.map((i) => ({ space: 'memory', resource: vm, index: i, version: 1, digest: `sha256:${'ab'.repeat(32)}`, access: kind }));
  const jws = `eyJhbGciOiJFZERTQSJ9.${Buffer.from(JSON.stringify({ v: 1, log: floorLog, index, time, regions, pad: 'x'.repeat(700) })).toString('base64url')}.${'s'.repeat(86)}`;
  return [
    db
      .prepare('INSERT INTO audit_records (log, idx, jws, time, action, actor_id, outcome, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .bind(floorLog, index, jws, time, `memory.${kind}`, 'tk_floor', 'allowed', 'floor'),
    ...(flows
      ? [
          flowRows(db, {
            log: floorLog,
            index,
            kind,
            vm,
            indexes,
            jti: crypto.randomUUID(),
            session: 'floor',
            actor: { type: 'toolstack', id: 'tk_floor' },
            time,
          }),
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

/** A design-floor batch as the Worker hands it to the log's sequencer: the pages (hex, with their SHA-256) or the range, and the token spent. */
interface FloorAppend {
  kind: 'read' | 'write';
  vm: string;
  pages?: { index: number; hex: string; digest: string }[];
  range?: { start: number; count: number };
  actor: { id: string; kid: string; jti: string; expiresAt: number };
}

/**
 * The design floor's sequencer: one per log, appends one at a time in arrival order (a promise chain), each
 * signed, put in the tree, covered by a signed checkpoint and committed with its pages in ONE D1 batch.
 */
export class DesignFloorSequencer extends DurableObject<{ DB: D1Database; AUDIT_SIGNING_JWK: string }> {
  #log = `design-floor-${crypto.randomUUID().slice(0, 8)}`;
  #frontier: Frontier | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  /** Each page's digest as last written (`vm:index`): what a read's record names, as the API's sequencer knows it from its heads. */
  #digests = new Map<string, string>();

  append(op: FloorAppend): Promise<{ index: number; jws: string; rows: { index: number; data: string }[] }> {
    const run = this.#tail.then(() => this.#commit(op));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #commit({ kind, vm, pages, range, actor }: FloorAppend): Promise<{ index: number; jws: string; rows: { index: number; data: string }[] }> {
    const db = this.env.DB;
    const log = this.#log;
    const key = await auditSigningKey(this.env.AUDIT_SIGNING_JWK);
    this.#frontier ??= await floorHead(db, log, key);
    const head = this.#frontier;
    const indexes = pages ? pages.map((p) => p.index) : Array.from({ length: range!.count }, (_, i) => range!.start + i);
    // A read names the versions it serves and their digests, as the API's sequencer does from the heads it follows (here: version 1).
    const regions: Region[] = indexes.map((index, i) => ({
      space: 'memory',
      resource: vm,
      index,
      version: 1,
      digest: `sha256:${pages ? pages[i]!.digest : (this.#digests.get(`${vm}:${index}`) ?? 'ab'.repeat(32))}`,
      access: kind,
    }));
    const record = floorRecord(log, head, {
      actor: { type: 'tenant', id: actor.id, kid: actor.kid, jti: actor.jti, ip: null },
      action: `vm.memory.${kind}`,
      target: { type: 'vm', id: vm },
      request: { method: kind === 'write' ? 'PUT' : 'GET', path: `/design-floor/${vm}/pages` },
      regions,
    });
    const { jws, frontier, results } = await commitFloorRecord<{ index: number; data: string }>(
      db,
      key,
      head,
      record,
      [
        pages ? pageInserts(db, vm, pages) : [pagesQuery(db, vm, range!.start, range!.count)],
        db.prepare('INSERT INTO token_replays (principal_id, jti, expires_at) VALUES (?, ?, ?)').bind(actor.id, actor.jti, actor.expiresAt),
      ].flat(),
      [
        flowRows(db, {
          log,
          index: record.index,
          kind,
          vm,
          indexes,
          jti: actor.jti,
          session: actor.jti,
          actor: { type: 'tenant', id: actor.id },
          time: record.time,
        }),
      ],
    );
    this.#frontier = frontier;
    for (const p of pages ?? []) this.#digests.set(`${vm}:${p.index}`, p.digest);
    return { index: record.index, jws, rows: pages ? [] : results[0]!.results };
  }
}

type FloorEnv = AppEnv & { Bindings: { DESIGN_FLOOR: DurableObjectNamespace<DesignFloorSequencer> } };
const designFloorLog = (c: Context<FloorEnv>) => c.env.DESIGN_FLOOR.get(c.env.DESIGN_FLOOR.idFromName('design-floor'));
const spentToken = (c: Context<FloorEnv>): FloorAppend['actor'] => {
  const { id, kid, jti, expiresAt } = c.get('principal');
  return { id, kid, jti, expiresAt };
};
const floorApp = app as unknown as Hono<FloorEnv>;

floorApp.put('/design-floor/:vm/pages', authenticate({ consumeJti: 'with-audit-record' }), async (c) => {
  const pages = framedPages(new Uint8Array(await c.req.arrayBuffer())).map(({ index, bytes, hex }) => ({
    index,
    hex,
    digest: createHash('sha256').update(bytes).digest('hex'),
  }));
  const { index } = await designFloorLog(c).append({ kind: 'write', vm: c.req.param('vm'), pages, actor: spentToken(c) });
  return c.json({ pages: pages.length, auditIndex: index });
});

floorApp.get('/design-floor/:vm/pages', authenticate({ consumeJti: 'with-audit-record' }), async (c) => {
  const range = { start: Number(c.req.query('start')), count: Number(c.req.query('count')) };
  const { rows, jws } = await designFloorLog(c).append({ kind: 'read', vm: c.req.param('vm'), range, actor: spentToken(c) });
  return framed(c as unknown as Context<AppEnv>, rows, jws);
});

export default app;
