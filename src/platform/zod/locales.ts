/**
 * What the Worker bundle gets for zod's `locales` namespace: English only.
 *
 * zod re-exports every one of its ~50 locales as `z.locales` and `z.core.locales`, and
 * @hono/zod-openapi hands the whole `z` namespace around as a value, so the bundler keeps
 * all of them: 264 KB of the 981 KB bundle, parsed on every start of workerd (`npm start`,
 * `startCustodes()`, each test file) and on every cold start at the edge (issue 34). The API
 * speaks English only, and zod configures English itself (`config(en())`, imported apart from
 * the namespace). wrangler.toml's `[alias]` puts this module where zod imports
 * "../locales/index.js"; test/node/worker-bundle.test.ts checks the bundle holds no other locale.
 */
export { default as en } from 'zod/v4/locales/en.js';
