/**
 * The Worker's bindings and the request context's variables. This file sits
 * at the bottom with `platform/`: it imports no feature. A feature that adds a
 * binding or a variable declares it beside its own code, by merging into
 * these interfaces (`declare module '…/env'`): the log's Durable Object in
 * audit/log/sequencer.ts, the principal in auth/middleware.ts, the request's
 * audit in audit/request/types.ts, the emulator's state in emulator/state.ts.
 */
import type { Database } from './platform/db/client';
import type { RequestTimings } from './platform/middleware/server-timing/timings';

/** Worker bindings (wrangler.toml, `.dev.vars`). */
export interface Env {
  DB: D1Database;
  /** Expected `aud` of every token (docs/design.md §2). Default `custodes`. */
  API_AUDIENCE?: string;
  /** Public JWKS of the bootstrap admins, `adm_bootstrap`, `adm_bootstrap2`, … in key order. */
  BOOTSTRAP_ADMIN_JWK?: string;
  /** Private Ed25519 JWK that signs audit records and checkpoints. */
  AUDIT_SIGNING_JWK?: string;
  /** Hours a change request waits for its second admin before it expires. Default 72. */
  CHANGE_TTL_HOURS?: string;
  /** Outsiders' refusals recorded in full per log and window before the rest are counted (audit/log/sequencer.ts). Default 16. */
  AUDIT_REFUSAL_SAMPLE?: string;
  /** The window of that count, in seconds. Default 60. */
  AUDIT_REFUSAL_WINDOW_SECONDS?: string;
  /**
   * The witnesses that cosign every log's checkpoints (C2SP tlog-witness;
   * audit/witnessing): a JSON array of `{"url": "<submission prefix>", "vkey": "<cosigner vkey>"}`.
   * Default: none.
   */
  AUDIT_WITNESSES?: string;
  /** Workers Rate Limiting bindings (wrangler.toml `[[ratelimits]]`): by principal, and by client address for requests without a valid token. */
  PRINCIPAL_RATE_LIMIT?: RateLimit;
  /** Origins whose browser scripts may call the API (platform/middleware/cors): comma-separated, or `*`. Default: none. */
  CORS_ALLOWED_ORIGINS?: string;
  /** `true` to let browsers send credentials; `*` then matches no origin. Default: off (the API uses bearer tokens). */
  CORS_ALLOW_CREDENTIALS?: string;
  ADDRESS_RATE_LIMIT?: RateLimit;
  /** `on` in emulator mode (`npm start`, `startCustodes`): the /_emulator controls, the emulated clock, faults, the recorder (src/emulator). Never set in a deployment. */
  CUSTODES_EMULATOR?: string;
  /** `on`: every response carries Server-Timing (platform/middleware/server-timing); the bench sets it. */
  CUSTODES_SERVER_TIMING?: string;
  /** `sha256:` + hex of the Worker bundle this deployment runs (`npm run build:worker` prints it; the launcher and `wrangler deploy --var` set it). On the record: audit/deployment. */
  CUSTODES_BUILD_DIGEST?: string;
  /** The last migration the local launcher applies: until D1 holds it, every request is `503 schema_pending` (platform/middleware/schema-gate). Unset in a deployment. */
  CUSTODES_SCHEMA?: string;
  /** Emulator mode: the directory the launcher persists D1 and the logs in (empty: in memory), shown at /v1/info. */
  CUSTODES_STATE_PATH?: string;
  /** The emulator's own origin (`http://127.0.0.1:8787`), set by the launcher: webhooks never go there. */
  CUSTODES_ORIGIN?: string;
  /** Per-instance secret that every /_emulator call must carry (`Authorization: Bearer …`), set by the launcher. */
  EMULATOR_CONTROL_TOKEN?: string;
  /** `on` when the emulator was bound beyond loopback on purpose (CUSTODES_HOST with CUSTODES_EXPOSE=1). */
  CUSTODES_EXPOSED?: string;
  /** Host names besides loopback the emulator answers to, comma-separated (set by the launcher when bound beyond loopback). */
  CUSTODES_ALLOWED_HOSTS?: string;
  /** DNS-over-HTTPS endpoint (JSON) that webhook hosts are resolved with before each delivery. Default Cloudflare's. */
  WEBHOOK_DNS_RESOLVER?: string;
  /** Ports webhooks may use besides 443, comma-separated. Default none. */
  WEBHOOK_ALLOWED_PORTS?: string;
  /** Live-stream budget overrides, JSON (`{"perPrincipal", "perLog", "perIsolate", "queueBytes", "heartbeatMs"}`; audit/stream/fan-out.ts). Default: the built-in limits. */
  STREAM_LIMITS?: string;
}

export interface AppVariables {
  requestId: string;
  db: Database;
  /** The problem code of an error response, for the audit record's `reason`. */
  problemCode: string;
  /** When Server-Timing is on: where this request's time goes (platform/middleware/server-timing). */
  timings?: RequestTimings;
  /** A body sent as `application/octet-stream` to a route that takes one (binary contents), read and bounded by the body gate. */
  octets?: Uint8Array;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
