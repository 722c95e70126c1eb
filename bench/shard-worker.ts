/**
 * Bench-only: what tenants across D1 databases (issue 35) cost per audited
 * change, measured before the API is sharded — a floor, as the design floors
 * of bench/baseline-worker.ts are, built from the API's own log code
 * (signRecord, appendLeaf, signCheckpoint, recordStatements, headStatements).
 *
 * Two databases: `DB` (the provider's, also shard 0) and `SHARD_1`. Tenant
 * `t{i}` of a run lives in shard `i % shards`. One sequencer per log (a
 * Durable Object, appends one at a time in arrival order), committing each
 * record with its data write in one batch to its log's database.
 *
 *  - `POST /tenant-change`: a tenant-primary change (docs/design.md §5): the
 *    record in the tenant's log and a data row, one batch in the tenant's shard.
 *  - `POST /provider-change`: an admin's change recorded provider-primary (§5's
 *    exception, docs/decisions.md "Tenants across D1 databases"): the provider
 *    log's record, the provider-side row and an outbox row in one batch in `DB`;
 *    then the request itself delivers the notice as src/audit/log/notices.ts
 *    does — the notice record, its receipt and the tenant-side row in one batch
 *    in the tenant's shard — and clears the outbox row in `DB` (with `lazyClear`,
 *    a later provider batch clears it: one round trip fewer).
 *
 * Body: `{ run, tenant, shards, lazyClear? }`; `run` names this round's logs, so each
 * scenario starts its logs at index 0 in the database it is measured on.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Frontier } from '../src/audit/format/merkle';
import { auditSigningKey } from '../src/audit/signing/signing-key';
import { commitFloorRecord, floorHead, floorRecord } from './floor-log';

interface ShardEnv {
  DB: D1Database;
  SHARD_1: D1Database;
  AUDIT_SIGNING_JWK: string;
  LOG: DurableObjectNamespace<ShardFloorSequencer>;
}

type Database = 'DB' | 'SHARD_1';
interface Write {
  sql: string;
  params: unknown[];
}
interface Append {
  database: Database;
  log: string;
  action: string;
  target: { type: string; id: string };
  writes: Write[];
}

/** The log's sequencer: each append signed, put in the tree, covered by a signed checkpoint and committed with its writes in one batch. */
export class ShardFloorSequencer extends DurableObject<ShardEnv> {
  #frontier: Frontier | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  append(op: Append): Promise<number> {
    const run = this.#tail.then(() => this.#commit(op));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #commit({ database, log, action, target, writes }: Append): Promise<number> {
    const db = this.env[database];
    const key = await auditSigningKey(this.env.AUDIT_SIGNING_JWK);
    this.#frontier ??= await floorHead(db, log, key);
    const head = this.#frontier;
    const record = floorRecord(log, head, {
      actor: { type: 'admin', id: 'adm_shard_floor', kid: 'k', jti: crypto.randomUUID(), ip: null },
      action,
      target,
      request: { method: 'POST', path: `/${action}` },
    });
    const bound = (w: Write) => db.prepare(w.sql.replaceAll(':index', String(record.index))).bind(...w.params);
    this.#frontier = (await commitFloorRecord(db, key, head, record, writes.map(bound))).frontier;
    return record.index;
  }
}

const row = (tenant: string, side: string): Write => ({
  sql: 'INSERT INTO shard_floor_rows (tenant, side, data) VALUES (?, ?, ?)',
  params: [tenant, side, 'x'.repeat(200)],
});

const shardOf = (tenant: string, shards: number): Database => (Number(tenant.slice(1)) % shards === 0 ? 'DB' : 'SHARD_1');

async function appendTo(env: ShardEnv, op: Append): Promise<number> {
  return env.LOG.get(env.LOG.idFromName(`${op.database}:${op.log}`)).append(op);
}

export default {
  async fetch(request: Request, env: ShardEnv): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === '/seed') {
      const table = 'CREATE TABLE IF NOT EXISTS shard_floor_rows (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, side TEXT NOT NULL, data TEXT NOT NULL)';
      await Promise.all([env.DB.exec(table), env.SHARD_1.exec(table)]);
      return new Response(null, { status: 204 });
    }
    if (path === '/v1/health') return new Response('ok');
    const { run, tenant, shards, lazyClear = false } = await request.json<{ run: string; tenant: string; shards: number; lazyClear?: boolean }>();
    const shard = shardOf(tenant, shards);
    const tenantLog = `tenants/${run}-${tenant}`;
    if (path === '/tenant-change') {
      const index = await appendTo(env, {
        database: shard,
        log: tenantLog,
        action: 'bench.change',
        target: { type: 'tenant', id: tenant },
        writes: [row(tenant, 'tenant')],
      });
      return Response.json({ index }, { status: 201 });
    }
    if (path === '/provider-change') {
      const providerLog = `provider-${run}`;
      const outbox: Write = {
        sql: 'INSERT INTO audit_notice_outbox (log, idx, target_log, draft) VALUES (?, :index, ?, ?)',
        params: [providerLog, tenantLog, '{"action":"bench.change"}'],
      };
      // `lazyClear`: delivered rows are cleared by a later provider batch, not in a round trip of their own (here the rows
      // 32 appends back, long delivered by their own requests: the floor of a sequencer told of each delivery).
      const cleared: Write[] = lazyClear ? [{ sql: 'DELETE FROM audit_notice_outbox WHERE log = ? AND idx < :index - 32', params: [providerLog] }] : [];
      const index = await appendTo(env, {
        database: 'DB',
        log: providerLog,
        action: 'bench.change',
        target: { type: 'tenant', id: tenant },
        writes: [row(tenant, 'provider'), outbox, ...cleared],
      });
      const receipt: Write = {
        sql: 'INSERT INTO audit_notice_receipts (primary_log, primary_idx, target_log) VALUES (?, ?, ?)',
        params: [providerLog, index, tenantLog],
      };
      await appendTo(env, {
        database: shard,
        log: tenantLog,
        action: 'notice.bench.change',
        target: { type: 'tenant', id: tenant },
        writes: [receipt, row(tenant, 'tenant')],
      });
      if (!lazyClear)
        await env.DB.prepare('DELETE FROM audit_notice_outbox WHERE log = ? AND idx = ? AND target_log = ?').bind(providerLog, index, tenantLog).run();
      return Response.json({ index }, { status: 201 });
    }
    return new Response('not found', { status: 404 });
  },
};
