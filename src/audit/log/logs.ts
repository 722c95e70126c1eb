/** Log names and origins (docs/design.md §5, §8), and how outsiders' refusals are sampled into them. */
import type { Env } from '../../env';

export const PROVIDER_LOG = 'provider';
export const tenantLog = (tenantId: string): string => `tenants/${tenantId}`;
export const logOrigin = (log: string): string => `custodes/${log}`;

/**
 * How outsiders' refusals are sampled (AuditLogSequencer.appendRefusal): env
 * `AUDIT_REFUSAL_SAMPLE` (default 16) in full per `AUDIT_REFUSAL_WINDOW_SECONDS`
 * (default 60), the rest counted into one summary per window.
 */
export const refusalPolicy = (env: Pick<Env, 'AUDIT_REFUSAL_SAMPLE' | 'AUDIT_REFUSAL_WINDOW_SECONDS'>) => ({
  sample: Number(env.AUDIT_REFUSAL_SAMPLE ?? 16),
  windowMs: 1000 * Number(env.AUDIT_REFUSAL_WINDOW_SECONDS ?? 60),
});
