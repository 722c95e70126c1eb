import type { RouteHandler } from '@hono/zod-openapi';
import type { JWK } from 'jose';
import type { AppEnv } from '../../env';
import { failureResponse } from '../../platform/http/problem';
import { rotationProposal } from './audit-keys.service';
import { changeLocation, propose } from '../changes/changes.handlers';
import type * as routes from './audit-keys.routes';

export const proposeAuditKey: RouteHandler<typeof routes.proposeAuditKey, AppEnv> = async (c) => {
  const proposal = await rotationProposal(c.get('db'), c.req.valid('json').publicKey as JWK);
  if (!proposal.ok) return failureResponse(c, proposal.error);
  const change = await propose(c, proposal.value);
  return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
};
