/** The SSE parser reads every line ending the format allows (WHATWG HTML, "Parsing an event stream"): LF, CRLF, CR — even split across chunks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverSentEvents } from './audit-stream.ts';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function events(chunks: string[]) {
  const out: { event: string; id: string | null; data: string }[] = [];
  for await (const e of serverSentEvents(streamOf(chunks))) out.push(e);
  return out;
}

const expected = [
  { event: 'record', id: '1', data: '{"index":1}' },
  { event: 'checkpoint', id: null, data: 'a\nb' },
];

describe('serverSentEvents', () => {
  for (const [name, eol] of [
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ] as const) {
    it(`parses a stream whose lines end in ${name}, split anywhere`, async () => {
      const text = `: heartbeat${eol}${eol}id: 1${eol}event: record${eol}data: {"index":1}${eol}${eol}event: checkpoint${eol}data: a${eol}data: b${eol}${eol}`;
      assert.deepEqual(await events([text]), expected);
      // One byte at a time: a CR at a chunk's end, its LF in the next.
      assert.deepEqual(await events([...text]), expected);
    });
  }
});
