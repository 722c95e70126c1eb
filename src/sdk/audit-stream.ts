/**
 * A tenant's audit log, live and verified as it arrives (issue 19): an async
 * iterator over `GET /v1/tenants/{tenant}/audit/stream` that checks each
 * record's signature against the published keys and its place in the log,
 * and each checkpoint's signature — and, on an unfiltered stream, that the
 * checkpoint's root is the tree of every record seen (from record 0: a stream
 * that starts later first reads the records before it). It resumes after a
 * disconnect from the last record it yielded (`Last-Event-ID`), so a caller
 * sees no gap and no duplicate.
 */
import { equalHashes, FrontierBuilder, leafHash } from '../audit/format/merkle.ts';
import { parseVerifierKey } from '../audit/format/note.ts';
import type { AuditRecord } from '../audit/format/record.ts';
import { keyMap, openCheckpoint, verifyJws } from './audit-verify.ts';
import type { ApiClient } from './client.ts';
import { CustodesApiError } from './errors.ts';
import { base64urlToBytes } from '../lib/bytes.ts';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface StreamFilter {
  outcome?: 'allowed' | 'denied' | 'failed';
  actorType?: 'admin' | 'tenant' | 'toolstack' | 'anonymous' | 'system';
  /** An action, or a prefix ending in `*`. */
  action?: string;
}

export type StreamEvent =
  | { kind: 'record'; index: number; jws: string; record: AuditRecord }
  /** `tree`: its root was recomputed from every record (unfiltered streams); otherwise its signature and growth were checked. */
  | { kind: 'checkpoint'; size: number; note: string; tree: boolean }
  /**
   * The server ended the stream and said why: a reader that fell too far behind
   * (`lagging`), its token's end (`token_expired`), an emulator `reset`, or
   * `revoked` — the principal may no longer read the log, and the iterator ends.
   * Otherwise it resumes from `resumeFrom` with a fresh token.
   */
  | { kind: 'end'; reason: 'lagging' | 'token_expired' | 'revoked' | 'reset'; resumeFrom: number }
  /** The stream broke and is being resumed from `from`. */
  | { kind: 'reconnecting'; from: number; error: string };

export interface StreamOptions {
  from?: number;
  filter?: StreamFilter;
  signal?: AbortSignal;
  /** Resume after a disconnect (default true). */
  resume?: boolean;
}

const fromB64url = base64urlToBytes;

export class StreamVerificationError extends Error {
  override name = 'StreamVerificationError';
}

/**
 * Splits a byte stream into Server-Sent Events, `{event, id, data}`, with a
 * maintained parser of the format (eventsource-parser: WHATWG HTML, "Parsing
 * an event stream" — every line ending, comments, multi-line data).
 */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; id: string | null; data: string }> {
  const parsed: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => parsed.push(message) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      parser.feed(done ? decoder.decode() : decoder.decode(value, { stream: true }));
      for (const { event, id, data } of parsed.splice(0)) yield { event: event ?? 'message', id: id ?? null, data };
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

export async function* verifiedAuditStream(api: ApiClient, tenant: string, options: StreamOptions = {}): AsyncGenerator<StreamEvent> {
  const { filter = {}, signal, resume = true } = options;
  const log = `tenants/${tenant}`;
  const filtered = Object.values(filter).some(Boolean);
  const vkey = parseVerifierKey((await api.GET('/v1/audit/log-key', { parseAs: 'text' })).data!);
  let keys = keyMap((await api.GET('/.well-known/jwks.json')).data!);
  const verified = async (jws: string): Promise<boolean> => {
    if (verifyJws(jws, keys)) return true;
    keys = keyMap((await api.GET('/.well-known/jwks.json')).data!); // a key activated since
    return verifyJws(jws, keys);
  };
  const tree = new FrontierBuilder();
  let next = options.from ?? 0;
  let lastCheckpoint = 0;
  if (!filtered && next > 0) {
    // The tree before `from`, so each checkpoint's root can be recomputed.
    while (tree.size < next) {
      const { records } = (
        await api.GET('/v1/tenants/{tenant}/audit/records', {
          params: { path: { tenant }, query: { from: tree.size, limit: Math.min(1000, next - tree.size) } },
        })
      ).data!;
      if (records.length === 0) throw new StreamVerificationError(`record ${tree.size} is missing before the stream's start`);
      for (const { jws } of records) tree.push(leafHash(fromB64url(jws.split('.')[1]!)));
    }
  }
  for (;;) {
    let error = 'the stream ended';
    try {
      const { data } = await api.GET('/v1/tenants/{tenant}/audit/stream', {
        params: { path: { tenant }, query: { from: next, ...filter }, header: next > 0 ? { 'last-event-id': String(next - 1) } : {} },
        parseAs: 'stream',
        signal,
      });
      // openapi-fetch types a `parseAs: 'stream'` body as its generic stream type; it is the response's byte stream.
      for await (const { event, data: text } of serverSentEvents(data as unknown as ReadableStream<Uint8Array>)) {
        const payload = JSON.parse(text) as { index: number; jws: string } & { size: number; note: string };
        if (event === 'record') {
          const { index, jws } = payload;
          if (filtered ? index < next : index !== next)
            throw new StreamVerificationError(`record ${index} arrived where ${next} was due (a gap or a duplicate)`);
          if (!(await verified(jws))) throw new StreamVerificationError(`record ${index}: the signature does not verify against the published audit keys`);
          const bytes = fromB64url(jws.split('.')[1]!);
          const record = JSON.parse(new TextDecoder().decode(bytes)) as AuditRecord;
          if (record.log !== log || record.index !== index)
            throw new StreamVerificationError(`record ${index} says it is record ${record.index} of ${record.log}`);
          if (!filtered) tree.push(leafHash(bytes));
          next = index + 1;
          yield { kind: 'record', index, jws, record };
        } else if (event === 'checkpoint') {
          const checkpoint = openCheckpoint(payload.note, vkey, `custodes/${log}`);
          if (typeof checkpoint === 'string') throw new StreamVerificationError(`checkpoint: ${checkpoint}`);
          if (checkpoint.size < lastCheckpoint) throw new StreamVerificationError(`the log shrank from ${lastCheckpoint} to ${checkpoint.size} records`);
          if (!filtered) {
            if (checkpoint.size !== tree.size) throw new StreamVerificationError(`a checkpoint of ${checkpoint.size} records after ${tree.size}`);
            if (!equalHashes(tree.root(), checkpoint.root))
              throw new StreamVerificationError(`the checkpoint at ${checkpoint.size} does not match the records streamed: the log forked or was rewritten`);
          }
          lastCheckpoint = checkpoint.size;
          if (filtered) next = Math.max(next, checkpoint.size); // resume after what the checkpoint covers
          yield { kind: 'checkpoint', size: checkpoint.size, note: payload.note, tree: !filtered };
        } else if (event === 'end') {
          const { reason, resumeFrom } = JSON.parse(text) as { reason: Extract<StreamEvent, { kind: 'end' }>['reason']; resumeFrom: number };
          yield { kind: 'end', reason, resumeFrom };
          if (reason === 'revoked') return;
          error = `the server ended the stream (${reason})`;
        }
      }
    } catch (caught) {
      if (caught instanceof StreamVerificationError || signal?.aborted) throw caught;
      // A refusal is final (the stream's budget excepted): reconnecting would only be refused again.
      if (
        caught instanceof CustodesApiError &&
        Number(caught.problem.status) >= 400 &&
        Number(caught.problem.status) < 500 &&
        caught.problem.code !== 'stream_limit_reached' &&
        caught.problem.code !== 'rate_limited'
      )
        throw caught;
      error = (caught as Error).message;
    }
    if (!resume || signal?.aborted) return;
    yield { kind: 'reconnecting', from: next, error };
    await new Promise((r) => setTimeout(r, 250));
  }
}
