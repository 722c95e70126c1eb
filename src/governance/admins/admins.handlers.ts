import type { RouteHandler } from '@hono/zod-openapi';
import type { JWK } from 'jose';
import type { AppEnv } from '../../env';
import { decodePageRequest, encodePage } from '../../platform/http/pagination';
import { failureResponse } from '../../platform/http/problem';
import * as admins from './admins.service';
import { changeLocation, propose } from '../changes/changes.handlers';
import type * as routes from './admins.routes';

export const registerAdmin: RouteHandler<typeof routes.registerAdmin, AppEnv> = async (c) => {
  const body = c.req.valid('json');
  const principal = c.get('principal');
  // The bootstrap ceremony: enrolled at once (the route admits a bootstrap key only while it is open).
  if (principal.bootstrap) {
    const enrolled = await admins.enrolAdmin(c.get('db'), c.get('audit').commit, c.env.BOOTSTRAP_ADMIN_JWK, principal.id, {
      ...body,
      publicKey: body.publicKey as JWK,
    });
    return enrolled.ok ? c.json(enrolled.value, 201) : failureResponse(c, enrolled.error);
  }
  const proposal = await admins.registrationProposal(c.get('db'), c.env.BOOTSTRAP_ADMIN_JWK, { ...body, publicKey: body.publicKey as JWK });
  if (!proposal.ok) return failureResponse(c, proposal.error);
  const change = await propose(c, proposal.value);
  return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
};

export const listAdmins: RouteHandler<typeof routes.listAdmins, AppEnv> = async (c) => {
  const request = decodePageRequest('admins', c.req.valid('query'));
  if (!request.ok) return failureResponse(c, request.error);
  const { items, nextPageToken } = encodePage('admins', await admins.listAdmins(c.get('db'), c.env.BOOTSTRAP_ADMIN_JWK, request.value));
  return c.json({ admins: items, nextPageToken }, 200);
};

export const getAdmin: RouteHandler<typeof routes.getAdmin, AppEnv> = async (c) => {
  const result = await admins.getAdmin(c.get('db'), c.env.BOOTSTRAP_ADMIN_JWK, c.req.valid('param').admin);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const setAdminRoles: RouteHandler<typeof routes.setAdminRoles, AppEnv> = async (c) => {
  const principal = c.get('principal');
  if (principal.bootstrap) {
    const set = await admins.setRolesInCeremony(
      c.get('db'),
      c.get('audit').commit,
      c.env.BOOTSTRAP_ADMIN_JWK,
      principal.id,
      c.req.valid('param').admin,
      c.req.valid('json').roles,
    );
    return set.ok ? c.json(set.value, 200) : failureResponse(c, set.error);
  }
  const proposal = await admins.rolesProposal(c.get('db'), c.env.BOOTSTRAP_ADMIN_JWK, c.req.valid('param').admin, c.req.valid('json').roles);
  if (!proposal.ok) return failureResponse(c, proposal.error);
  const change = await propose(c, proposal.value);
  return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
};

export const disableAdmin: RouteHandler<typeof routes.disableAdmin, AppEnv> = async (c) => {
  const result = await admins.disableAdmin(c.get('db'), c.get('audit').commit, c.env.BOOTSTRAP_ADMIN_JWK, c.req.valid('param').admin);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
};

export const reenableBootstrapAdmin: RouteHandler<typeof routes.reenableBootstrapAdmin, AppEnv> = async (c) => {
  const proposal = await admins.reenableProposal(c.get('db'), c.env.BOOTSTRAP_ADMIN_JWK, c.req.valid('param').admin, c.req.valid('json').minutes);
  if (!proposal.ok) return failureResponse(c, proposal.error);
  const change = await propose(c, proposal.value);
  return change.ok ? c.json(change.value, 202, changeLocation(change.value)) : failureResponse(c, change.error);
};
