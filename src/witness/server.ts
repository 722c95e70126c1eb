/**
 * `custodes witness serve`: the witness over HTTP (C2SP tlog-witness).
 *   POST /add-checkpoint   the protocol's call (witness.ts)
 *   GET  /                 who this witness is: name, vkey, the logs it follows
 * Requests over 64 KiB are refused (a checkpoint and 63 proof lines are ~3 KiB).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Witness, WitnessedLogs } from './witness';

const MAX_BODY = 64 * 1024;

export async function serveWitness(
  witness: Witness,
  logs: WitnessedLogs,
  { port = 0, host = '127.0.0.1' } = {},
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const answer = (status: number, contentType: string, body: string) => {
      res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const path = new URL(req.url ?? '/', 'http://witness').pathname;
    if (req.method === 'GET' && path === '/') return answer(200, 'application/json', `${JSON.stringify({ name: witness.name, vkey: witness.vkey, logs })}\n`);
    if (path !== '/add-checkpoint') return answer(404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'POST') return answer(405, 'text/plain; charset=utf-8', 'POST only\n');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        answer(413, 'text/plain; charset=utf-8', 'request too large\n');
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      witness.addCheckpoint(Buffer.concat(chunks).toString('utf8')).then(
        (a) => answer(a.status, a.contentType, a.body),
        (error: Error) => answer(500, 'text/plain; charset=utf-8', `witness error: ${error.message}\n`),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return { server, url: `http://${host}:${bound}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
