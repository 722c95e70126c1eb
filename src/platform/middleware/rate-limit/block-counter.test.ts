/**
 * The block counter against a model of the binding (a fixed-window count per
 * key, as Miniflare's emulation keeps it): one call per block; from sequential
 * requests exactly the configured number per window; at most `block − 1` over
 * per refused call and `block − 1` fewer per isolate; and no call once refused
 * until the window turns.
 */
import { describe, expect, it } from 'vitest';
import { BlockCounter, type Limiter } from './block-counter';

/** The binding: `limit` calls per key per window of `periodMs`. */
function bindingModel(limit: number, periodMs: number, now: () => number) {
  const counts = new Map<string, number>();
  let calls = 0;
  const limiter: Limiter = {
    async limit({ key }) {
      calls++;
      await Promise.resolve(); // an answer arrives later, as a binding's does
      const slot = `${key}@${Math.floor(now() / periodMs)}`;
      const count = counts.get(slot) ?? 0;
      if (count >= limit) return { success: false };
      counts.set(slot, count + 1);
      return { success: true };
    },
  };
  return { limiter, calls: () => calls };
}

describe('BlockCounter', () => {
  it('admits exactly limit × block requests a window from one isolate, with one binding call per block', async () => {
    let t = 1_000_000;
    const now = () => t;
    const binding = bindingModel(5, 10_000, now);
    const counter = new BlockCounter({ block: 8, periodSeconds: 10, now });
    const answers: boolean[] = [];
    for (let i = 0; i < 60; i++) answers.push(await counter.admit(binding.limiter, 'principal:a'));
    expect(answers.filter(Boolean)).toHaveLength(40);
    expect(answers.slice(0, 40).every(Boolean)).toBe(true);
    expect(binding.calls()).toBe(6); // 5 blocks bought, 1 refused
    // Refused: no further call until the window turns.
    expect(await counter.admit(binding.limiter, 'principal:a')).toBe(false);
    expect(binding.calls()).toBe(6);
    // Another key has its own count.
    expect(await counter.admit(binding.limiter, 'principal:b')).toBe(true);
    t += 10_000;
    expect(await counter.admit(binding.limiter, 'principal:a')).toBe(true);
    expect(binding.calls()).toBe(8);
  });

  it('lets concurrent requests ride on a call under way: one call per block, at most block − 1 over per refused call', async () => {
    const now = () => 0;
    const binding = bindingModel(5, 10_000, now);
    const counter = new BlockCounter({ block: 8, periodSeconds: 10, now });
    // 40 at once: five calls, each paying for itself and seven riders.
    const first = await Promise.all(Array.from({ length: 40 }, () => counter.admit(binding.limiter, 'k')));
    expect(first.every(Boolean)).toBe(true);
    expect(binding.calls()).toBe(5);
    // Over the limit, 20 at once: three calls, all refused; their riders (7 + 7 + 3) went through.
    const second = await Promise.all(Array.from({ length: 20 }, () => counter.admit(binding.limiter, 'k')));
    expect(binding.calls()).toBe(8);
    expect(second.filter((a) => !a)).toHaveLength(3);
    expect(await counter.admit(binding.limiter, 'k')).toBe(false);
    expect(binding.calls()).toBe(8);
  });

  it('from sequential requests never admits more than the limit across isolates, and each refuses at most block − 1 early', async () => {
    const t = 5_000;
    const now = () => t;
    const binding = bindingModel(10, 10_000, now);
    const isolates = Array.from({ length: 3 }, () => new BlockCounter({ block: 4, periodSeconds: 10, now }));
    let admitted = 0;
    for (let i = 0; i < 200; i++) if (await isolates[i % 3]!.admit(binding.limiter, 'principal:x')) admitted++;
    expect(admitted).toBeLessThanOrEqual(40);
    expect(admitted).toBeGreaterThanOrEqual(40 - 3 * 3); // each isolate's unused credits: at most block − 1
  });

  it('with blocks of 1 counts every request, as a plain binding call would', async () => {
    const now = () => 0;
    const binding = bindingModel(3, 10_000, now);
    const counter = new BlockCounter({ block: 1, periodSeconds: 10, now });
    const answers: boolean[] = [];
    for (let i = 0; i < 5; i++) answers.push(await counter.admit(binding.limiter, 'address:1.2.3.4'));
    expect(answers).toEqual([true, true, true, false, false]);
    expect(binding.calls()).toBe(4);
  });

  it('a binding failure fails the request that called it, and the next request asks again', async () => {
    let fail = true;
    const limiter: Limiter = { limit: async () => (fail ? Promise.reject(new Error('binding down')) : { success: true }) };
    const counter = new BlockCounter({ block: 8, periodSeconds: 10, now: () => 0 });
    await expect(counter.admit(limiter, 'k')).rejects.toThrow('binding down');
    fail = false;
    expect(await counter.admit(limiter, 'k')).toBe(true);
  });
});
