/**
 * Handlers of both content spaces: memory pages and disk blocks differ only
 * in the space and in the path parameter that names the resource. Pages
 * travel as JSON (base64 envelopes) or as binary frames (lib/page-frames.ts):
 * a write by its `Content-Type`, a read by its `Accept`.
 */
import type { Context } from 'hono';
import type { RouteHandler } from '@hono/zod-openapi';
import type * as routes from './contents.routes';
import type { AppEnv } from '../../env';
import { failureResponse, problemResponse } from '../../platform/http/problem';
import { decodeWriteFrame, encodeReadFrame, PAGES_MEDIA_TYPE, prefersFrames } from '../../lib/page-frames';
import { base64Of, hexToBytes } from '../../lib/bytes';
import * as contents from './contents.service';
import type { ContentAddress } from './content-statements';

/** What the routes' validators produced (contents.routes.ts), read without the per-route generics. */
interface Validated {
  param: Record<string, string | number>;
  query: { start: number; count: number };
  json: { pages?: { index: number; envelope: string }[] };
}
const valid = <K extends keyof Validated>(c: Context<AppEnv>, target: K): Validated[K] =>
  // The memory and disk routes share these handlers: their validated inputs have one shape, which Hono's per-route types cannot express.
  (c.req as unknown as { valid(target: K): Validated[K] }).valid(target);

/** Ciphertext: no intermediary should transform it (RFC 9111 §5.2.2.6) — compressing it gains nothing. The form follows `Accept`. */
const CONTENT_HEADERS = { 'Cache-Control': 'no-store, no-transform', Vary: 'Accept' };

type Pages = { ok: true; pages: contents.PageWrite[] } | { ok: false; response: Response };

/** The pages of a write, from its frame or its JSON. */
function pagesOf(c: Context<AppEnv>): Pages {
  const octets = c.get('octets');
  if (octets) {
    const frame = decodeWriteFrame(octets);
    if (!frame.ok) return { ok: false, response: problemResponse(c, 'invalid_request', `The body is not a page frame: ${frame.reason}.`) };
    const { length } = frame.value;
    if (length < 1 || length > contents.MAX_PAGES_PER_CALL) {
      return { ok: false, response: problemResponse(c, 'invalid_request', `A frame carries 1–${contents.MAX_PAGES_PER_CALL} pages, not ${length}.`) };
    }
    return { ok: true, pages: frame.value };
  }
  const { pages } = valid(c, 'json');
  if (!pages)
    return { ok: false, response: problemResponse(c, 'invalid_request', `Send the pages: JSON {pages: [{index, envelope}]} or a ${PAGES_MEDIA_TYPE} frame.`) };
  const decoded: contents.PageWrite[] = [];
  for (const [position, { index, envelope }] of pages.entries()) {
    const bytes = contents.envelopeFromBase64(envelope);
    if (!bytes.ok) return { ok: false, response: failureResponse(c, { ...bytes.error, detail: `pages[${position}] (index ${index}): ${bytes.error.detail}` }) };
    decoded.push({ index, envelope: bytes.value });
  }
  return { ok: true, pages: decoded };
}

const jsonPage = ({ envelope, ...page }: contents.StoredPage) => ({ ...page, envelope: base64Of(envelope) });

export function contentHandlers(space: contents.Space) {
  const resourceParam = space === 'memory' ? 'vm' : 'disk';
  const addressOf = (c: Context<AppEnv>): ContentAddress => {
    const param = valid(c, 'param');
    return { tenant: String(param.tenant), space, id: String(param[resourceParam]) };
  };
  return {
    async write(c: Context<AppEnv>) {
      const pages = pagesOf(c);
      if (!pages.ok) return pages.response;
      const result = await contents.writePages(c.get('db'), c.get('audit').commit, addressOf(c), pages.pages);
      return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
    },
    async read(c: Context<AppEnv>) {
      const { start, count } = valid(c, 'query');
      const result = await contents.readRange(c.get('db'), c.get('audit').commit, addressOf(c), { start, count });
      if (!result.ok) return failureResponse(c, result.error);
      const { pages, evidence } = result.value;
      if (prefersFrames(c.req.header('Accept'))) {
        const framed = pages.map((p) => ({ ...p, digest: hexToBytes(p.digest.slice('sha256:'.length)) }));
        return c.body(encodeReadFrame(framed, evidence), 200, { ...CONTENT_HEADERS, 'Content-Type': PAGES_MEDIA_TYPE });
      }
      return c.json({ pages: pages.map(jsonPage), evidence }, 200, CONTENT_HEADERS);
    },
    async readVersion(c: Context<AppEnv>) {
      const { tenant, id } = addressOf(c);
      // A deleted resource's versions stay readable until the tenant purges them.
      const resource = await contents.retainedResource(c.get('db'), tenant, space, id);
      if (!resource.ok) return failureResponse(c, resource.error);
      const { index, version } = valid(c, 'param');
      const result = await contents.readVersion(c.get('db'), c.get('audit').commit, resource.value, Number(index), Number(version));
      if (!result.ok) return failureResponse(c, result.error);
      return c.json({ ...jsonPage(result.value.page), evidence: result.value.evidence }, 200, { 'Cache-Control': 'no-store, no-transform' });
    },
  };
}

/** The owner purges a deleted resource's retained versions (contents.service.ts `purgeVersions`). */
export const purgeContents: RouteHandler<typeof routes.purge, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const { space, resource } = c.req.valid('json');
  const result = await contents.purgeVersions(c.get('db'), c.get('audit').commit, tenant, space, resource);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};
