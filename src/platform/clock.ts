/**
 * The server's clock. Deployed, it is the runtime's own. In emulator mode
 * (src/emulator) a test may move it forward — to see a change request expire
 * after 72 h, a token outlive its lifetime, an idempotency key lapse — without
 * waiting. Everything on the server that asks "what time is it?" asks here.
 *
 * The offset is set per request by the emulator middleware from the
 * emulator's stored state; the log's sequencer (another object) does not read
 * it from here but from each record draft's `clock`, so a record says which
 * clock stamped it.
 */
let offsetMs = 0;

/** Milliseconds since the epoch, on the server's (possibly emulated) clock. */
export const now = (): number => Date.now() + offsetMs;

export const nowSeconds = (): number => Math.floor(now() / 1000);

export const nowIso = (): string => new Date(now()).toISOString();

/** How far the emulated clock runs ahead of the real one (0 unless the emulator moved it). */
export const clockOffsetMs = (): number => offsetMs;

export function setClockOffset(ms: number): void {
  offsetMs = ms;
}
