/**
 * Cursor pagination as clients see it (Google AIP-158 style): `pageSize`,
 * opaque `pageToken`, `nextPageToken`. A token names the list it came from,
 * so a token from one list used on another is rejected instead of silently
 * skipping items.
 */
import { z } from '@hono/zod-openapi';
import { base64urlOf, base64urlToBytes, fromUtf8, utf8 } from '../../lib/bytes';
import type { Page, PageRequest } from '../../lib/page';
import { fail, ok, type Result } from '../../lib/result';
import { wholeNumber } from './params';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

export const PageQuerySchema = z.object({
  pageSize: wholeNumber({ min: 1, max: MAX_PAGE_SIZE })
    .default(DEFAULT_PAGE_SIZE)
    .openapi({ description: `Items per page, 1–${MAX_PAGE_SIZE}.`, example: DEFAULT_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
  pageToken: z.string().max(512).optional().openapi({ description: 'The `nextPageToken` of the previous page; omit for the first page.' }),
});

export const nextPageTokenSchema = z.string().optional().openapi({ description: 'Pass as `pageToken` to get the next page; absent on the last page.' });

export function decodePageRequest(list: string, query: { pageSize: number; pageToken?: string }): Result<PageRequest, 'invalid_page_token'> {
  if (query.pageToken === undefined || query.pageToken === '') return ok({ limit: query.pageSize });
  try {
    const token = JSON.parse(fromUtf8(base64urlToBytes(query.pageToken))) as { list?: unknown; after?: unknown };
    if (token.list === list && typeof token.after === 'string') return ok({ after: token.after, limit: query.pageSize });
  } catch {
    // fall through: any undecodable token is the client's error
  }
  return fail('invalid_page_token', 'pageToken was not issued for this list; start again without it.');
}

export function encodePage<T>(list: string, page: Page<T>): { items: T[]; nextPageToken?: string } {
  return {
    items: page.items,
    ...(page.nextCursor ? { nextPageToken: base64urlOf(utf8(JSON.stringify({ list, after: page.nextCursor }))) } : {}),
  };
}
