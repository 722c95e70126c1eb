/**
 * Alert deliveries (issue 19). After each commit the log's sequencer hands
 * its records here; each one a rule matches becomes an `alert_deliveries`
 * row — once per (rule, record index), so a record is delivered once however
 * often it is seen — and is POSTed to the rule's webhook at once.
 *
 * The body is a compact JWS signed by the audit key (`application/jose`; keys
 * at /.well-known/jwks.json), its payload the delivery: the rule, the record's
 * index and the record's own JWS. A receiver verifies both offline and drops
 * a delivery whose index it has seen (a retry after a lost answer). A failed
 * delivery is retried with backoff — 1 s, 2 s, 4 s … up to 5 min — while the
 * sequencer lives, and by the cron sweep (`retryDueDeliveries`) after.
 *
 * Every attempt first checks the URL against the webhook policy again
 * (webhook-policy.ts: the host's addresses may have changed since the rule was
 * made), never follows a redirect, and counts against its tenant's delivery
 * budget: at most `DELIVERIES_PER_MINUTE` a tenant, the rest wait for the next
 * minute (nothing is dropped), so many rules cannot turn a few requests into a
 * flood of POSTs.
 */
import type { LogExtension, Published, SequencerHost } from '../log/extensions';
import type { Env } from '../../env';
import { emulatorEnabled } from '../../platform/emulator-mode';
import { record } from '../../emulator/recorder';
import { auditSigningKey, signBytes } from '../signing/signing-key';
import { alertMatches, type AlertKind, type LabelledRegion } from './alert-rules';
import { checkWebhookUrl, dohResolver, type Verdict, type WebhookPolicy } from './webhook-policy';
import { rowsOf, type Query } from '../../platform/db/statements';
import { base64urlOf } from '../../lib/bytes';

const DEFAULT_RESOLVER = 'https://cloudflare-dns.com/dns-query';

/** Deliveries a tenant's alerts may make per minute; more wait for the next minute. */
export const DELIVERIES_PER_MINUTE = 60;

/** This deployment's webhook policy (webhook-policy.ts). */
export const webhookPolicy = (env: Env): WebhookPolicy => ({
  emulator: emulatorEnabled(env),
  ...(env.CUSTODES_ORIGIN ? { selfOrigin: env.CUSTODES_ORIGIN } : {}),
  allowedPorts: (env.WEBHOOK_ALLOWED_PORTS ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0),
});

/** Whether `url` may receive this deployment's webhooks now (resolving its host in a deployment). */
export const checkWebhook = (env: Env, url: string): Promise<Verdict> =>
  checkWebhookUrl(url, webhookPolicy(env), dohResolver(env.WEBHOOK_DNS_RESOLVER ?? DEFAULT_RESOLVER));

/** Per tenant: the minute being counted and how many deliveries it has made (per isolate; the sequencer is one per tenant log). */
const budgets = new Map<string, { minute: number; used: number }>();

/** Takes one delivery from the tenant's budget; false when this minute's is spent. */
function spendDelivery(tenant: string): boolean {
  const minute = Math.floor(Date.now() / 60_000);
  const budget = budgets.get(tenant);
  if (!budget || budget.minute !== minute) {
    if (budgets.size > 10_000) budgets.clear();
    budgets.set(tenant, { minute, used: 1 });
    return true;
  }
  return ++budget.used <= DELIVERIES_PER_MINUTE;
}

const nextMinute = (): number => (Math.floor(Date.now() / 60_000) + 1) * 60_000;

interface Rule {
  id: string;
  kind: AlertKind;
  url: string;
}

const MAX_BACKOFF_MS = 5 * 60_000;
export const backoffMs = (attempts: number): number => Math.min(1000 * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
const b64url = base64urlOf;

/** The signed body of one delivery. */
export async function deliveryBody(env: Env, rule: Rule, tenant: string, log: string, index: number, jws: string, attempt: number): Promise<string> {
  const key = await auditSigningKey(env.AUDIT_SIGNING_JWK);
  const header = b64url(new TextEncoder().encode(JSON.stringify({ alg: 'EdDSA', kid: key.kid, typ: 'custodes-alert+json' })));
  const payload = b64url(
    new TextEncoder().encode(
      JSON.stringify({ id: `${rule.id}:${index}`, rule: rule.id, kind: rule.kind, tenant, log, index, record: jws, attempt, sentAt: new Date().toISOString() }),
    ),
  );
  return `${header}.${payload}.${b64url(await signBytes(key, new TextEncoder().encode(`${header}.${payload}`)))}`;
}

/**
 * One attempt; answers whether it was accepted (2xx), or `deferred` when the
 * tenant's budget for this minute is spent. The row records the outcome and the next attempt.
 */
async function attempt(env: Env, rule: Rule, tenant: string, log: string, index: number, jws: string, attempts: number): Promise<boolean | 'deferred'> {
  if (!spendDelivery(tenant)) {
    await env.DB.prepare('UPDATE alert_deliveries SET next_attempt_at = ? WHERE rule_id = ? AND audit_index = ?').bind(nextMinute(), rule.id, index).run();
    return 'deferred';
  }
  let error: string | null = null;
  let status = 0;
  const started = performance.now();
  const headers = { 'Content-Type': 'application/jose', 'Custodes-Delivery': `${rule.id}:${index}` };
  const verdict = await checkWebhook(env, rule.url);
  if (!verdict.ok) error = `refused by the webhook policy: ${verdict.problem}`;
  else {
    try {
      // A redirect is an answer, not an instruction: following it would take the payload where the policy did not look.
      const response = await fetch(verdict.url, {
        method: 'POST',
        headers,
        body: await deliveryBody(env, rule, tenant, log, index, jws, attempts + 1),
        redirect: 'manual',
        signal: AbortSignal.timeout(5000),
      });
      status = response.status;
      await response.body?.cancel();
      if (status >= 300 && status < 400) error = `HTTP ${status}: redirects are not followed`;
      else if (!response.ok) error = `HTTP ${status}`;
    } catch (caught) {
      error = (caught as Error).message;
    }
  }
  // The emulator's recorder shows the deliveries it made, tagged with their tenant (the body, a JWS, is redacted like any).
  if (emulatorEnabled(env)) {
    record({
      tenant,
      startedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      method: 'POST',
      url: rule.url,
      status,
      request: { headers: Object.entries(headers), body: '[redacted]', contentType: 'application/jose' },
      response: { headers: [], body: error, contentType: null },
      audit: `log=${log}; index=${index}`,
      requestId: null,
    });
  }
  const next = Date.now() + backoffMs(attempts + 1);
  await env.DB.prepare(
    `UPDATE alert_deliveries SET attempts = attempts + 1, delivered_at = ?, last_error = ?, next_attempt_at = ? WHERE rule_id = ? AND audit_index = ?`,
  )
    .bind(error ? null : new Date().toISOString(), error, next, rule.id, index)
    .run();
  return error === null;
}

/** Delivers (rule, record), retrying in this isolate with backoff while it fails, at most `tries` times. */
async function deliverWithRetries(env: Env, rule: Rule, tenant: string, log: string, index: number, jws: string, tries = 6): Promise<void> {
  for (let attempts = 0; attempts < tries; attempts++) {
    const outcome = await attempt(env, rule, tenant, log, index, jws, attempts);
    if (outcome) return; // delivered, or left to the sweep after this minute
    await new Promise((resolve) => setTimeout(resolve, backoffMs(attempts + 1)));
  }
}

/** A tenant log's rules and labels, as the sequencer keeps them between commits. */
export class TenantAlerts {
  #rules: Rule[] | null = null;
  #labels: LabelledRegion[] = [];

  /** After a commit: records that change the rules or the labels make the next match read them again. */
  async onCommit(env: Env, log: string, published: readonly Published[]): Promise<void> {
    const tenant = log.slice('tenants/'.length);
    if (published.some((p) => /^(alert|label)\.(create|delete|put)$/.test(p.record.action))) this.#rules = null;
    if (!this.#rules) {
      const rulesQuery: Query<Rule> = { sql: 'SELECT id, kind, url FROM alert_rules WHERE tenant_id = ?', params: [tenant], columns: ['id', 'kind', 'url'] };
      const labelsQuery: Query<LabelledRegion> = {
        sql: 'SELECT space, resource_id AS resource, start, count FROM labels WHERE tenant_id = ?',
        params: [tenant],
        columns: ['space', 'resource', 'start', 'count'],
      };
      const [rules, labels] = await env.DB.batch([rulesQuery, labelsQuery].map((q) => env.DB.prepare(q.sql).bind(...q.params)));
      this.#rules = rowsOf(rulesQuery, rules!.results);
      this.#labels = rowsOf(labelsQuery, labels!.results);
    }
    if (this.#rules.length === 0) return;
    const matched = published.flatMap((p) =>
      this.#rules!.filter((rule) => alertMatches(rule.kind, p.record as never, this.#labels)).map((rule) => ({ rule, p })),
    );
    if (matched.length === 0) return;
    // Once per (rule, index): a record seen again (a restarted sequencer) is not delivered twice.
    const inserted = await env.DB.batch(
      matched.map(({ rule, p }) =>
        env.DB.prepare('INSERT INTO alert_deliveries (rule_id, log, audit_index, next_attempt_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').bind(
          rule.id,
          log,
          p.index,
          Date.now(),
        ),
      ),
    );
    await Promise.all(matched.filter((_, i) => inserted[i]!.meta.changes > 0).map(({ rule, p }) => deliverWithRetries(env, rule, tenant, log, p.index, p.jws)));
  }
}

/** The cron sweep: every delivery still failing whose next attempt is due, once each. */
export async function retryDueDeliveries(env: Env): Promise<number> {
  const { results } = await env.DB.prepare(
    `SELECT d.rule_id, d.log, d.audit_index, d.attempts, r.kind, r.url, r.tenant_id, a.jws FROM alert_deliveries d
       JOIN alert_rules r ON r.id = d.rule_id JOIN audit_records a ON a.log = d.log AND a.idx = d.audit_index
      WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT 100`,
  )
    .bind(Date.now())
    .all<{ rule_id: string; log: string; audit_index: number; attempts: number; kind: AlertKind; url: string; tenant_id: string; jws: string }>();
  let delivered = 0;
  for (const row of results) {
    if ((await attempt(env, { id: row.rule_id, kind: row.kind, url: row.url }, row.tenant_id, row.log, row.audit_index, row.jws, row.attempts)) === true)
      delivered++;
  }
  return delivered;
}

/** Tenant alerts as a sequencer's after-commit hook (audit/log/extensions.ts): each log's sequencer keeps its own rules. */
export function tenantAlerts(host: SequencerHost): LogExtension {
  const alerts = new TenantAlerts();
  return {
    async afterCommit(published) {
      if (host.log.startsWith('tenants/')) await alerts.onCommit(host.env, host.log, published);
    },
  };
}
