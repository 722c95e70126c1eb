/**
 * Fault rules: what the emulator injects, on which requests, how often.
 * Pure (no I/O), so the matching is tested on its own (faults.test.ts).
 *
 * A rule names requests by `route`: an optional method, then a path pattern
 * in which `*` matches within one path segment and `**` across segments —
 * `PUT /v1/tenants/*\/vms/*\/memory/pages`, `/v1/admin/**`. It applies with
 * `probability`, and at most `times` times when given (then it is spent).
 */
import { z } from 'zod';
import type { IntegrityFault } from './integrity-faults';

/** `[METHOD ]PATH`: a method (or `*`), then a path pattern from `/` (or `**`, anything). */
const ROUTE = /^(?:(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|\*)\s+)?(?:\/\S*|\*\*)$/i;

const base = {
  route: z
    .string()
    .min(1)
    .max(512)
    .regex(ROUTE, 'a route is an optional method and a path pattern from /: `PUT /v1/tenants/*/vms/*/memory/pages`, `/v1/admin/**`, or `**` for every request'),
  probability: z.number().min(0).max(1).default(1),
  times: z.number().int().min(1).max(1_000_000).optional(),
};

export const FaultRuleSchema = z.discriminatedUnion('kind', [
  /** Adds `ms` of latency before the request is handled. */
  z.strictObject({ kind: z.literal('latency'), ms: z.number().int().min(1).max(30_000), ...base }),
  /** Answers a problem instead of handling the request (recorded like any failure). */
  z.strictObject({ kind: z.literal('problem'), status: z.union([z.literal(429), z.literal(500), z.literal(503)]), ...base }),
  /** Makes the request's audit batch fail in D1: the response is withheld (503 audit_unavailable) and nothing commits. */
  z.strictObject({ kind: z.literal('audit-batch'), ...base }),
  /**
   * Commits the request's writes and record, then fails before answering (500):
   * what a client sees when the server dies between doing and saying. A retry
   * with the same Idempotency-Key is not run again. The record's notices to
   * other logs stay in the outbox (audit/log/notices.ts) for the next reader.
   */
  z.strictObject({ kind: z.literal('crash-after-commit'), ...base }),
  /**
   * Integrity faults: the answer rewritten as a dishonest provider would
   * (integrity-faults.ts): `stale-content`, `withhold-content` (content
   * reads), `rewrite-record`, `drop-newest-record` (audit records and checkpoints).
   */
  z.strictObject({ kind: z.enum(['stale-content', 'withhold-content', 'rewrite-record'] as const satisfies readonly IntegrityFault[]), ...base }),
  /** As above; `hidden` is filled in when the rule is set: each log's newest record then, and everything after it, is not served. */
  z.strictObject({ kind: z.literal('drop-newest-record'), hidden: z.record(z.string(), z.number().int().min(0)).optional(), ...base }),
  /** As above; `forkAt` is filled in when the rule is set: each log's newest record then is the one forked. */
  z.strictObject({ kind: z.literal('split-view'), forkAt: z.record(z.string(), z.number().int().min(0)).optional(), ...base }),
  /**
   * The operator replaces a bootstrap admin's key (as `wrangler secret put`
   * would), without a redeploy: from the next request this instance runs with
   * `admin` (default 2: adm_bootstrap2) holding `key`, a fresh public key the
   * emulator fills in when the rule is set. Its `route` is not consulted.
   */
  z.strictObject({
    kind: z.literal('swap-bootstrap-key'),
    admin: z.number().int().min(1).max(16).default(2),
    key: z.strictObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string() }).optional(),
    ...base,
  }),
  /**
   * The provider restores a backup (store-copy.ts): when the rule is set, the
   * whole store is copied (`copiedAt` is filled in); at the first request
   * matching `route` (and `times` more, default once), before that request is
   * handled, every table is put back as it was then — logs, pages, keys.
   */
  z.strictObject({ kind: z.literal('rollback-store'), copiedAt: z.string().optional(), ...base, times: z.number().int().min(1).max(1_000).default(1) }),
]);

export type FaultRule = z.output<typeof FaultRuleSchema>;

/** Kinds that act on the instance as a request starts (middleware.ts, `emulatorRuntime`), not on the request's handling. */
export const INSTANCE_FAULTS: readonly FaultRule['kind'][] = ['rollback-store', 'swap-bootstrap-key'];
export const FaultRulesSchema = z.array(FaultRuleSchema).max(64);

function routePattern(route: string): { method: string | null; path: RegExp } {
  const [first, second] = route.trim().split(/\s+/, 2);
  const method = second === undefined ? null : first!.toUpperCase();
  const glob = second ?? first!;
  const source = glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return { method: method === '*' ? null : method, path: new RegExp(`^${source}$`) };
}

export const ruleMatches = (rule: Pick<FaultRule, 'route'>, method: string, path: string): boolean => {
  const pattern = routePattern(rule.route);
  return (pattern.method === null || pattern.method === method.toUpperCase()) && pattern.path.test(path);
};

/**
 * The rules that fire for this request, in order, one per kind (the first
 * matching rule of a kind wins; each matching rule draws its own chance).
 */
export function firingRules(rules: readonly FaultRule[], method: string, path: string, random: () => number = Math.random): FaultRule[] {
  const fired = new Map<FaultRule['kind'], FaultRule>();
  for (const rule of rules) {
    if (fired.has(rule.kind) || !ruleMatches(rule, method, path)) continue;
    if (random() < rule.probability) fired.set(rule.kind, rule);
  }
  return [...fired.values()];
}

/** The rules after `fired` were used once: a rule with `times` counts down and is gone at zero. */
export function spend(rules: readonly FaultRule[], fired: readonly FaultRule[]): FaultRule[] {
  return rules.flatMap((rule) => {
    if (!fired.includes(rule) || rule.times === undefined) return [rule];
    return rule.times > 1 ? [{ ...rule, times: rule.times - 1 }] : [];
  });
}
