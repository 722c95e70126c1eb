/**
 * Counting a key's requests in blocks: the Rate Limiting binding is asked
 * once per `block` requests of a key in this isolate, not once per request.
 *
 * Why: the binding's answer is the only cross-isolate count, but each call
 * has a cost of its own (locally, Miniflare's emulation writes SQLite in a
 * Durable Object per call: with one call per request, the design floor of an
 * audited create fell from 0.78× to 0.55× of a one-INSERT Worker; bench
 * `/design-floor-limited`). One call costs workerd ~0.55 ms of CPU on
 * Miniflare (measured in a loop), so even one call per 8 requests was ~70 µs
 * of every audited request; blocks of 40 took a create's Worker side from
 * ~480 to ~405 µs (issue 34, A/B in one isolate). The binding's limit is
 * configured in blocks (wrangler.toml: 125 blocks of 40 = 5000 requests per 10 s).
 *
 * Exactness: one binding call pays for the request that makes it and the
 * next `block − 1` of its key in this isolate. Requests that arrive while a
 * call is under way ride on it: they are admitted at once rather than wait,
 * because a Worker may not await a promise another request made (workerd
 * refuses its I/O). So a key gets at most `block − 1` requests beyond its
 * limit per refused call (a refusal is remembered until the window ends, so
 * there are few), and at most `block − 1` fewer per isolate (credits bought
 * and not used when the window ends). With blocks of 40 and a limit of 5000,
 * both bounds are 39 per isolate, 0.8%: Cloudflare's own binding is
 * approximate on that order (its counts are cached and eventually consistent).
 *
 * Windows are the binding's own: fixed, aligned to the wall clock
 * (`floor(now / period)`), as Miniflare and Cloudflare count them.
 */

/** The part of the Workers Rate Limiting binding this uses. */
export interface Limiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

export interface BlockCounterOptions {
  /** Requests one binding call pays for. */
  block: number;
  /** The binding's period, in seconds. */
  periodSeconds: number;
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
  /** Most keys remembered at once; past it the oldest are forgotten (which only costs a call). */
  maxKeys?: number;
}

interface KeyState {
  window: number;
  /** Requests paid for and not yet used; negative while requests ride on calls under way. */
  credits: number;
  /** Binding calls under way, each buying `block` requests. */
  buying: number;
  /** The binding refused in this window. */
  refused: boolean;
}

export class BlockCounter {
  readonly #block: number;
  readonly #periodMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #keys = new Map<string, KeyState>();

  constructor(options: BlockCounterOptions) {
    const { block, periodSeconds, now = Date.now, maxKeys = 10_000 } = options;
    if (!Number.isInteger(block) || block < 1) throw new RangeError('block must be a positive integer');
    this.#block = block;
    this.#periodMs = periodSeconds * 1000;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  /** Whether one more request of `key` is within the limit; counts it if so. */
  async admit(limiter: Limiter, key: string): Promise<boolean> {
    const window = Math.floor(this.#now() / this.#periodMs);
    let state = this.#keys.get(key);
    if (!state || state.window !== window) {
      state = { window, credits: 0, buying: 0, refused: false };
      this.#remember(key, state);
    }
    if (state.refused) return false;
    // Paid for, or covered by a call under way.
    if (state.credits + state.buying * this.#block > 0) {
      state.credits--;
      return true;
    }
    // Buy the next block: this request and the next block − 1.
    state.credits--;
    state.buying++;
    let success: boolean;
    try {
      ({ success } = await limiter.limit({ key }));
    } finally {
      state.buying--;
    }
    if (!success) {
      state.refused = true;
      return false;
    }
    state.credits += this.#block;
    return true;
  }

  #remember(key: string, state: KeyState): void {
    this.#keys.delete(key);
    if (this.#keys.size >= this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(key, state);
  }
}
