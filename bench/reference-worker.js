/**
 * Bench-only reference: what this runtime serves with nearly nothing to do.
 * `GET /ok` answers `ok`; `POST /insert` does one D1 INSERT and answers 201.
 * No framework, no auth, plain JavaScript (wrangler dev and Miniflare run it
 * as is): `npm run bench` measures both in the same run as the API and states
 * the API's rates as ratios to them (issue 16).
 */
export default {
  /** @param {Request} request @param {{ DB: D1Database }} env */
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/ok') return new Response('ok');
    if (pathname === '/insert' && request.method === 'POST') {
      await env.DB.prepare('INSERT INTO reference_rows (id, body) VALUES (?, ?)').bind(crypto.randomUUID(), await request.text()).run();
      return new Response(null, { status: 201 });
    }
    if (pathname === '/seed') {
      await env.DB.prepare('CREATE TABLE IF NOT EXISTS reference_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)').run();
      return new Response(null, { status: 204 });
    }
    // The bench waits for `/v1/health` to answer before it measures.
    return new Response('reference', { status: pathname === '/v1/health' ? 200 : 404 });
  },
};
