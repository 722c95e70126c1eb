/**
 * The deployment on the record (issue 30, docs/design.md §5): which code and which
 * configuration sign the logs. The first request an isolate serves compares
 * what it runs under with the last `deployment.statement` in the provider log
 * and, when the build or the configuration differs, appends a new one before
 * anything else happens. A redeployed Worker, or a bootstrap admin's key
 * replaced with `wrangler secret put`, is then a signed record that every
 * verifier sees (`GET /v1/audit/deployments`, `custodes audit verify`).
 *
 * What it contains, never a secret: the build digest (the SHA-256 of the
 * bundle `npm run build:worker` makes and prints, given to the Worker as
 * `CUSTODES_BUILD_DIGEST`), the audit key's public vkey, each bootstrap
 * admin's id and key thumbprint, the names of the bindings, the values of the
 * configuration vars, the API version — and a digest over all of it but the
 * build.
 *
 * The limit, stated: a Worker reports its own build; a modified Worker can lie
 * about it. Without hardware attestation, only witnesses and evidence the
 * tenant holds catch a provider that runs other code than it says.
 */
import { createHash } from 'node:crypto';
import type { Env } from '../../env';
import { bootstrapAdmins } from '../../auth/principals';
import { canonicalJson } from '../format/canonical-json';
import { auditSigningKey } from '../signing/signing-key';
import { API_VERSION } from '../../platform/version';
import type { DeploymentStatement } from './changes';

export type { DeploymentStatement } from './changes';

/** Configuration vars whose values are on the record (never secrets). */
const CONFIG_VARS = [
  'API_AUDIENCE',
  'CHANGE_TTL_HOURS',
  'AUDIT_REFUSAL_SAMPLE',
  'AUDIT_REFUSAL_WINDOW_SECONDS',
  'AUDIT_WITNESSES',
  'CORS_ALLOWED_ORIGINS',
  'CORS_ALLOW_CREDENTIALS',
  'CUSTODES_EMULATOR',
  'CUSTODES_EXPOSED',
  'STREAM_LIMITS',
  'WEBHOOK_DNS_RESOLVER',
  'WEBHOOK_ALLOWED_PORTS',
] as const;

/** Bindings that change at every start of the same deployment (a port, a per-start token), or are the build itself. */
const PER_START = new Set(['CUSTODES_ORIGIN', 'EMULATOR_CONTROL_TOKEN', 'CUSTODES_ALLOWED_HOSTS', 'CUSTODES_BUILD_DIGEST']);

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** What this isolate runs under. */
export async function currentDeployment(env: Env): Promise<DeploymentStatement> {
  const admins = [...(await bootstrapAdmins(env.BOOTSTRAP_ADMIN_JWK)).values()].map(({ id, kid }) => ({ id, kid }));
  const vars: { [name: string]: string } = {};
  for (const name of CONFIG_VARS) {
    const value = env[name];
    if (typeof value === 'string') vars[name] = value;
  }
  const described = {
    version: API_VERSION,
    auditKey: (await auditSigningKey(env.AUDIT_SIGNING_JWK)).vkey,
    bootstrapAdmins: admins,
    bindings: Object.keys(env)
      .filter((name) => !PER_START.has(name))
      .sort(),
    vars,
  };
  return { ...described, build: env.CUSTODES_BUILD_DIGEST ?? null, config: sha256(canonicalJson(described)) };
}
