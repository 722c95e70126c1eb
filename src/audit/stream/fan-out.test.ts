/**
 * The fan-out's endings, without a socket: a test sink records what the
 * sequencer would write to a subscriber's response.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../env';
import { LogFanOut, type StreamAuthority } from './fan-out';
import type { EventSink } from './sink';

function recordingSink() {
  const decoder = new TextDecoder();
  let text = '';
  const sink: EventSink = {
    opened() {},
    async write(bytes) {
      text += decoder.decode(bytes);
      return true;
    },
    async close() {
      return true;
    },
    async abort() {},
  };
  const endReason = (): string | undefined => {
    const end = /event: end\ndata: (.*)\n/.exec(text);
    return end?.[1] ? (JSON.parse(end[1]) as { reason: string }).reason : undefined;
  };
  return { sink, endReason };
}

const nobodyMayRead = async () => new Set<string>();

function subscribe(fanOut: LogFanOut, authority: StreamAuthority) {
  const { sink, endReason } = recordingSink();
  const admission = fanOut.subscribe(env as unknown as Env, 'tenants/ten_fanout_test', 0, {}, authority, nobodyMayRead, sink);
  expect(admission.ok).toBe(true);
  return { endReason, ended: admission.ok ? admission.ended : Promise.resolve() };
}

describe('LogFanOut endings', () => {
  it('ends a stream whose principal lost its authority as revoked', async () => {
    const fanOut = new LogFanOut();
    const stream = subscribe(fanOut, { principal: 'tsk_a', kid: 'tsk_a', expiresAt: Date.now() + 60_000 });
    await fanOut.recheck();
    await stream.ended;
    expect(stream.endReason()).toBe('revoked');
  });

  it('ends a stream whose token expired as token_expired even when an authority check gets there first', async () => {
    const fanOut = new LogFanOut();
    // Expired as the check runs: the expiry timer has not fired yet, the check has (the race CI once lost).
    const stream = subscribe(fanOut, { principal: 'tsk_b', kid: 'tsk_b', expiresAt: Date.now() });
    await fanOut.recheck();
    await stream.ended;
    expect(stream.endReason()).toBe('token_expired');
  });
});
