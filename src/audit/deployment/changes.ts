/**
 * A deployment statement (statement.ts) and what changed between two: pure,
 * shared by the server and the verifier (`custodes audit verify` reports the
 * changes since its saved state).
 */
import type { JsonValue } from '../format/canonical-json';

export interface DeploymentStatement {
  [key: string]: JsonValue;
  version: string;
  /** `sha256:` + hex of the Worker bundle, as the deployment declares it; null when it declares none. */
  build: string | null;
  /** `sha256:` + hex of the canonical JSON of everything below. */
  config: string;
  auditKey: string;
  bootstrapAdmins: { id: string; kid: string }[];
  bindings: string[];
  vars: { [name: string]: string };
}

/** What changed from `before` to `after`, in words a verifier prints. */
export function deploymentChanges(before: DeploymentStatement | null, after: DeploymentStatement): string[] {
  if (!before) return ['first deployment on record'];
  const changes: string[] = [];
  if (before.build !== after.build) changes.push(`build ${before.build ?? 'undeclared'} → ${after.build ?? 'undeclared'}`);
  if (before.version !== after.version) changes.push(`version ${before.version} → ${after.version}`);
  if (before.auditKey !== after.auditKey) changes.push(`audit key ${before.auditKey} → ${after.auditKey}`);
  const kids = (s: DeploymentStatement) => new Map(s.bootstrapAdmins.map((a) => [a.id, a.kid]));
  const [was, now] = [kids(before), kids(after)];
  for (const id of new Set([...was.keys(), ...now.keys()])) {
    if (was.get(id) !== now.get(id)) changes.push(`bootstrap admin ${id} key ${was.get(id) ?? '(none)'} → ${now.get(id) ?? '(none)'}`);
  }
  const names = (s: DeploymentStatement) => new Set(s.bindings);
  for (const name of names(after)) if (!names(before).has(name)) changes.push(`binding ${name} added`);
  for (const name of names(before)) if (!names(after).has(name)) changes.push(`binding ${name} removed`);
  for (const name of new Set([...Object.keys(before.vars), ...Object.keys(after.vars)])) {
    if (before.vars[name] !== after.vars[name]) changes.push(`${name} ${before.vars[name] ?? '(unset)'} → ${after.vars[name] ?? '(unset)'}`);
  }
  return changes.length > 0 ? changes : before.config !== after.config ? ['configuration changed'] : [];
}
