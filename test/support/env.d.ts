// Bindings the tests see: the Worker's own plus the test-only ones from vitest.config.ts.
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    AUDIT_LOG: DurableObjectNamespace<import('../../src/audit/log/sequencer').AuditLogSequencer>;
    AUDIT_SIGNING_JWK: string;
    AUDIT_REFUSAL_SAMPLE?: string;
    CORS_ALLOWED_ORIGINS?: string;
    API_AUDIENCE?: string;
    BOOTSTRAP_ADMIN_JWK?: string;
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    TEST_BOOTSTRAP_PRIVATE_JWKS: string;
    TEST_ADMIN_PRIVATE_JWKS: string;
  }
}
