import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createDb } from '../platform/db/client';
import { claimTokenId } from './token-replays';

describe('token replay store', () => {
  it('admits a jti once per principal and forgets it after expiry', async () => {
    const db = createDb(env.DB);
    // Ahead of any real clock this isolate has pruned at, so the once-a-minute prune is due.
    const now = Math.floor(Date.now() / 1000) + 10_000;
    expect(await claimTokenId(db, 'adm_a', 'j1', now + 60, now)).toBe(true);
    expect(await claimTokenId(db, 'adm_a', 'j1', now + 60, now)).toBe(false);
    expect(await claimTokenId(db, 'adm_b', 'j1', now + 60, now)).toBe(true); // per principal
    // A minute later (past j1's expiry) pruning runs and removes it.
    await claimTokenId(db, 'adm_a', 'j2', now + 200, now + 120);
    const rows = await env.DB.prepare('SELECT jti FROM token_replays ORDER BY jti').all();
    expect(rows.results.map((r) => r.jti)).toEqual(['j2']);
  });
});
