import type { RouteHandler } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import { EXECUTORS } from './change-operations';
import { signPendingHandovers } from '../../audit/signing/key-handover';
import * as changes from './two-person-rule';
import { staleRevision } from '../../platform/db/revisions';
import { ok, type Result } from '../../lib/result';
import type * as routes from './changes.routes';

export const listChanges: RouteHandler<typeof routes.listChanges, AppEnv> = async (c) => {
  const { state, tenant, ...pageQuery } = c.req.valid('query');
  const list = `changes?state=${state ?? ''}&tenant=${tenant ?? ''}`;
  const request = decodePageRequest(list, pageQuery);
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage(list, await changes.listChanges(c.get('db'), request.value, { state, tenant }));
  return c.json({ changes: items, nextPageToken }, 200);
};

export const getChange: RouteHandler<typeof routes.getChange, AppEnv> = async (c) => {
  const result = await changes.getChange(c.get('db'), c.req.valid('param').change);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

const admin = (c: Context<AppEnv>) => ({ id: c.get('principal').id, roles: c.get('principal').roles });

export const approveChange: RouteHandler<typeof routes.approveChange, AppEnv> = async (c) => {
  const result = await changes.approveChange(c.get('db'), c.get('audit').commit, admin(c), c.req.valid('param').change, EXECUTORS);
  // The key signing today vouches for the one just approved (audit/signing/key-handover.ts), now that the approval is in the log.
  if (result.ok && result.value.change.operation === 'audit.rotate') await signPendingHandovers(c.env);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const denyChange: RouteHandler<typeof routes.denyChange, AppEnv> = async (c) => {
  const result = await changes.decideChange(c.get('db'), c.get('audit').commit, admin(c), c.req.valid('param').change, 'deny');
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const cancelChange: RouteHandler<typeof routes.cancelChange, AppEnv> = async (c) => {
  const result = await changes.decideChange(c.get('db'), c.get('audit').commit, admin(c), c.req.valid('param').change, 'cancel');
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

/**
 * A significant operation becomes a pending change request (answered 202 with
 * `changeLocation`) that a second admin must approve. With `If-Match`, the
 * target must be at that revision now (412 otherwise); approval re-checks it.
 */
export async function propose(c: Context<AppEnv>, proposal: changes.Proposal, ifMatch?: number): Promise<Result<changes.ChangeView, 'precondition_failed'>> {
  const stale =
    proposal.targetRevision === null ? null : staleRevision(`${proposal.target.type} ${proposal.target.id}`, { revision: proposal.targetRevision }, ifMatch);
  if (stale) return stale;
  const hours = Number(c.env.CHANGE_TTL_HOURS ?? changes.DEFAULT_CHANGE_TTL_HOURS);
  const ttl = Number.isFinite(hours) && hours > 0 ? hours : changes.DEFAULT_CHANGE_TTL_HOURS;
  return ok(await changes.proposeChange(c.get('db'), c.get('audit').commit, c.get('principal').id, proposal, ttl));
}

export const changeLocation = (change: { id: string }) => ({ Location: `/v1/admin/changes/${change.id}` });
