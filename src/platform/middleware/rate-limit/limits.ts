/** The rate limits wrangler.toml configures, in requests (a plain module: the Node tests compare it with wrangler.toml). */

/** The period of both limits in wrangler.toml, in seconds (the binding allows 10 or 60). */
export const RATE_LIMIT_PERIOD_SECONDS = 10;

/**
 * Requests one binding call pays for (./block-counter.ts): a principal's limit is
 * configured in blocks of 40 (wrangler.toml: 125 × 40 = 5000), an address's one by one.
 */
export const RATE_LIMIT_BLOCKS = { perPrincipal: 40, perAddress: 1 } as const;

/** The limits in force, in requests, as `GET /v1/info` reports them (a binding cannot be asked; test/node/emulator.test.ts compares with wrangler.toml). */
export const RATE_LIMITS = {
  perPrincipal: { limit: 125 * RATE_LIMIT_BLOCKS.perPrincipal, periodSeconds: RATE_LIMIT_PERIOD_SECONDS },
  perAddress: { limit: 100 * RATE_LIMIT_BLOCKS.perAddress, periodSeconds: RATE_LIMIT_PERIOD_SECONDS },
};
