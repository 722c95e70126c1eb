import type { RouteHandler } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import { exposureReport as report } from './exposure.service';
import type * as routes from './exposure.routes';

export const exposureReport: RouteHandler<typeof routes.exposureReport, AppEnv> = async (c) => {
  const { tenant } = c.req.valid('param');
  const { pageSize, pageToken, ...query } = c.req.valid('query');
  const list = `exposure?tenant=${tenant}&label=${query.label ?? ''}&actor=${query.actor ?? ''}&from=${query.from ?? ''}&to=${query.to ?? ''}`;
  const request = decodePageRequest(list, { pageSize, pageToken });
  if (!request.ok) return failureResponse(c, request.error);
  // Times compare as text in the index, so bring offsets to UTC 'Z' first.
  const utc = (t?: string) => (t ? new Date(t).toISOString() : undefined);
  const { items, nextPageToken } = encodePage(
    list,
    await report(c.get('db'), tenant, c.get('reach'), request.value, { ...query, from: utc(query.from), to: utc(query.to) }),
  );
  return c.json({ labels: items, nextPageToken }, 200);
};
