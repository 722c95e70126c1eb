import type { Database } from './db/client';
import type { Principal } from './auth/principals';

/** Worker bindings (wrangler.toml, `.dev.vars`). */
export interface Env {
  DB: D1Database;
  /** Expected `aud` of every token (DESIGN §2). Default `custodes`. */
  API_AUDIENCE?: string;
  /** Public JWKS of the bootstrap admins, `adm_bootstrap`, `adm_bootstrap2`, … in key order. */
  BOOTSTRAP_ADMIN_JWK?: string;
  /** Private JWK that signs audit records and checkpoints (used from the audit-log issue on). */
  AUDIT_SIGNING_JWK?: string;
}

export interface AppVariables {
  requestId: string;
  db: Database;
  principal: Principal;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
