/**
 * Bench-only reference: what this runtime serves with nearly nothing to do.
 * `GET /ok` answers `ok`; `POST /insert` does one D1 INSERT and answers 201.
 * No framework, no auth, plain JavaScript (wrangler dev and Miniflare run it
 * as is): `npm run bench` measures both in the same run as the API and states
 * the API's rates as ratios to them (issue 16).
 *
 * `POST /audited-floor` is the floor of an audited VM create under docs/design.md §5:
 * the one D1 batch such a create must commit — the jti claim, the guarded VM
 * INSERT (the real table, its triggers and the allocation guards), a
 * record-sized row in audit_records, its tree node, the guarded head update
 * and the assertions — with everything else taken away: no token, no
 * signature, no framework, no Durable Object hop. No implementation that keeps
 * the rule (data, record and head in one atomic batch) can serve faster than
 * this on the same runtime, so its ratio to `/insert` bounds the API's.
 * `POST /audited-floor-do` commits the same batch from a Durable Object one
 * RPC away, group-committing what queued meanwhile, as the API's per-log
 * sequencer does (docs/design.md §5). `POST /design-floor` adds the signatures the
 * design mandates and nothing else: the Worker verifies an Ed25519 signature
 * over a token-sized input (docs/design.md §2), the Durable Object hashes and signs
 * each record and signs one checkpoint per batch (docs/design.md §5).
 * `POST /design-floor-limited` adds the one control the API keeps beyond the
 * design: the Workers Rate Limiting binding, called as the API calls it —
 * once per 40 requests of a principal (src/platform/middleware/rate-limit).
 */
import { DurableObject } from 'cloudflare:workers';

/** The floor's Ed25519 key, a token-sized signing input and its signature (made in the first request: no randomness at global scope). */
let floorKeys;
const floorCrypto = () =>
  (floorKeys ??= (async () => {
    const keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const token = new TextEncoder().encode('e'.repeat(620));
    return { keys, token, signature: await crypto.subtle.sign('Ed25519', keys.privateKey, token) };
  })());

/** Requests of `/design-floor-limited` so far in this isolate. */
let limitedCalls = 0;

/** The Worker's own floor log, one per isolate so its indexes count from 0 (random values are not allowed at global scope). */
let workerLog = '';
let workerNext = 0;
const RECORD = 'x'.repeat(1100); // an audited VM create's JWS is ~1.1 kB
/** What the floor signs per record: about the JWS's signing input. */
const RECORD_BYTES = new TextEncoder().encode(RECORD.slice(0, 800));

/**
 * The statements of one audited create after `log`'s entry `index` (the jti
 * claim, the guarded VM INSERT, the record row and its node); the guarded
 * head update follows once per batch (`headUpdate`).
 * @param {D1Database} db @param {string} log @param {number} index @param {{ name: string, vcpus: number, memoryMiB: number }} body
 */
function createStatements(db, log, index, body) {
  return [
    db.prepare('INSERT INTO token_replays (principal_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').bind('adm_floor', crypto.randomUUID(), 2e9),
    db.prepare('INSERT INTO replay_assertions (actual) VALUES (changes())'),
    db
      .prepare(
        `INSERT INTO vms (id, tenant_id, host_id, name, vcpus, memory_mib)
         SELECT ?, 'ten_floor', 'hst_floor', ?, ?, ?
         WHERE EXISTS (SELECT 1 FROM hosts h WHERE h.id = 'hst_floor' AND h.state = 'active'
             AND coalesce((SELECT vcpus FROM vm_allocations WHERE owner = 'host:' || h.id), 0) + ?3 <= h.vcpus)
           AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = 'ten_floor' AND t.state = 'active'
             AND coalesce((SELECT vcpus FROM vm_allocations WHERE owner = 'tenant:' || t.id), 0) + ?3 <= t.quota_vcpus)
         RETURNING id, name, vcpus, memory_mib, state, revision, created_at`,
      )
      .bind(crypto.randomUUID(), `${body.name}-${log}-${index}`, body.vcpus, body.memoryMiB),
    db.prepare('INSERT INTO write_assertions (label, expected, actual) VALUES (?, 1, changes())').bind('vm.create'),
    db
      .prepare('INSERT INTO audit_records (log, idx, jws, time, action, actor_id, outcome, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .bind(log, index, RECORD, new Date().toISOString(), 'vm.create', 'adm_floor', 'allowed', 'floor'),
    db.prepare('INSERT INTO audit_nodes (log, level, idx, hash) VALUES (?, 0, ?, ?)').bind(log, index, 'ab'.repeat(32)),
  ];
}

/** The guarded head update that takes `log` from `from` entries to `to`, and its assertion. @param {D1Database} db @param {string} log @param {number} from @param {number} to */
function headUpdate(db, log, from, to) {
  return [
    db
      .prepare(
        `INSERT INTO audit_logs (log, size, root, frontier, checkpoint, updated_at) VALUES (?, ?, ?, '[]', ?, ?)
         ON CONFLICT (log) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at WHERE size = ?`,
      )
      .bind(log, to, 'cd'.repeat(32), 'y'.repeat(200), new Date().toISOString(), from),
    db.prepare("INSERT INTO write_assertions (label, expected, actual) VALUES ('audit head', 1, changes())"),
  ];
}

/** One create in its own batch, straight from the Worker. @param {D1Database} db @param {{ name: string, vcpus: number, memoryMiB: number }} body */
async function commitFloor(db, body) {
  workerLog ||= `floor-${crypto.randomUUID().slice(0, 8)}`;
  const log = workerLog;
  const index = workerNext++;
  await db.batch([...createStatements(db, log, index, body), ...headUpdate(db, log, index, index + 1)]);
}

/**
 * The floor's batch committed from a Durable Object, as the API's log
 * sequencer does: what queued meanwhile is group-committed in one batch.
 */
export class FloorSequencer extends DurableObject {
  /** @type {{ body: any, sign: boolean, done: () => void, failed: (e: unknown) => void }[]} */
  #queue = [];
  #draining = false;
  #size = 0;
  #log = '';

  /** @param {{ name: string, vcpus: number, memoryMiB: number }} body @param {boolean} [sign] */
  commit(body, sign = false) {
    return new Promise((done, failed) => {
      this.#queue.push({ body, sign, done, failed });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain() {
    this.#draining = true;
    this.#log ||= `floor-do-${crypto.randomUUID().slice(0, 8)}`;
    const db = this.env.DB;
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, 32);
      const from = this.#size;
      try {
        if (group.some((m) => m.sign)) {
          // The record's leaf hash and signature, each; one checkpoint signature for the batch.
          const { keys } = await floorCrypto();
          await Promise.all(
            group.map(() => Promise.all([crypto.subtle.digest('SHA-256', RECORD_BYTES), crypto.subtle.sign('Ed25519', keys.privateKey, RECORD_BYTES)])),
          );
          await crypto.subtle.sign('Ed25519', keys.privateKey, new TextEncoder().encode(`custodes/${this.#log}\n${from + group.length}\n${'r'.repeat(44)}\n`));
        }
        await db.batch([
          ...group.flatMap((m, i) => createStatements(db, this.#log, from + i, m.body)),
          ...headUpdate(db, this.#log, from, from + group.length),
        ]);
        this.#size = from + group.length;
        for (const m of group) m.done();
      } catch (error) {
        for (const m of group) m.failed(error);
      }
    }
    this.#draining = false;
  }
}

export default {
  /** @param {Request} request @param {{ DB: D1Database, FLOOR: DurableObjectNamespace, LIMIT: RateLimit }} env */
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/ok') return new Response('ok');
    if (pathname === '/insert' && request.method === 'POST') {
      await env.DB.prepare('INSERT INTO reference_rows (id, body) VALUES (?, ?)')
        .bind(crypto.randomUUID(), await request.text())
        .run();
      return new Response(null, { status: 201 });
    }
    if (['/audited-floor', '/audited-floor-do', '/design-floor', '/design-floor-limited'].includes(pathname) && request.method === 'POST') {
      const body = JSON.parse(await request.text());
      const design = pathname.startsWith('/design-floor');
      if (design) {
        const { keys, token, signature } = await floorCrypto();
        if (!(await crypto.subtle.verify('Ed25519', keys.publicKey, signature, token))) return new Response(null, { status: 401 });
      }
      // As the API calls it: once per 40 requests of a principal (src/platform/middleware/rate-limit/block-counter.ts).
      if (pathname === '/design-floor-limited' && limitedCalls++ % 40 === 0 && !(await env.LIMIT.limit({ key: 'principal:floor' })).success)
        return new Response(null, { status: 429 });
      // `-do` and design: the same batch, committed by a Durable Object (the log's sequencer in the API) one RPC away.
      if (pathname === '/audited-floor') await commitFloor(env.DB, body);
      else await env.FLOOR.get(env.FLOOR.idFromName('floor')).commit(body, design);
      return new Response(null, { status: 201 });
    }
    if (pathname === '/seed') {
      // The INSERT's table on its own: on Miniflare no migrations run, so the floor's tables may not exist.
      await env.DB.prepare('CREATE TABLE IF NOT EXISTS reference_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)').run();
      const migrated = await env.DB.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hosts'").first();
      if (!migrated) return new Response(null, { status: 204 });
      await env.DB.batch([
        env.DB.prepare(
          "INSERT INTO hosts (id, name, vcpus, memory_mib, disk_gib) VALUES ('hst_floor', 'floor', 100000000, 100000000000, 1000) ON CONFLICT DO NOTHING",
        ),
        env.DB.prepare(
          "INSERT INTO tenants (id, name, owner_kid, owner_jwk, quota_vcpus, quota_memory_mib, quota_disk_gib) VALUES ('ten_floor', 'floor', 'k', '{}', 100000000, 100000000000, 1000) ON CONFLICT DO NOTHING",
        ),
      ]);
      return new Response(null, { status: 204 });
    }
    // The bench waits for `/v1/health` to answer before it measures.
    return new Response('reference', { status: pathname === '/v1/health' ? 200 : 404 });
  },
};
