import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { exportJWK, generateKeyPair } from 'jose';
import { defineConfig } from 'vitest/config';

const newKey = async () => exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey);

/**
 * Two bootstrap admins, two enrolled admins and an audit key, made fresh for each run: tests
 * sign with the private halves. Every test starts with the two enrolled admins in its database
 * (test/support/apply-migrations.ts), so the bootstrap ceremony is over unless a test undoes it.
 */
async function testAdminKeys() {
  const keys = await Promise.all([0, 1].map(newKey));
  const enrolled = await Promise.all([0, 1].map(newKey));
  const publicKeys = keys.map(({ d: _d, ...pub }) => pub);
  return {
    BOOTSTRAP_ADMIN_JWK: JSON.stringify({ keys: publicKeys }),
    TEST_BOOTSTRAP_PRIVATE_JWKS: JSON.stringify(keys),
    TEST_ADMIN_PRIVATE_JWKS: JSON.stringify(enrolled),
    AUDIT_SIGNING_JWK: JSON.stringify(await newKey()),
  };
}

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          ...(await testAdminKeys()),
          CORS_ALLOWED_ORIGINS: 'https://console.tenant.example,http://localhost:5173',
          TEST_MIGRATIONS: await readD1Migrations('./drizzle'),
        },
      },
    })),
  ],
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // test/node runs on Node's own runner (npm run test:node): it needs worker threads and the file system.
    exclude: ['test/node/**', 'src/cli/**', '**/*.node.test.ts'],
    setupFiles: ['./test/support/apply-migrations.ts'],
    // The default 5 s is one quiet run's 1.4× for the longest tests (every route, 3.5 s alone here), and this
    // 2-core machine is shared: under load that test took past 5 s (CI at 2026-12-07 18:47). A hang still fails.
    testTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
