import { changeAccepted } from '../../governance/changes/changes.routes';
import { z } from '@hono/zod-openapi';
import { METADATA_READERS } from '../../auth/roles';
import { ETagHeader, IdempotencyHeaders, IfMatchHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { adminRoute } from '../../http/route-factories';
import { PageQuerySchema } from '../../platform/http/pagination';
import { CreateHostBody, DrainReportSchema, HostListSchema, HostParams, HostSchema, PatchHostBody } from './hosts.schemas';

const tags = ['hosts'];

export const createHost = adminRoute({
  operationId: 'createHost',
  action: 'host.create',
  problems: ['name_taken'],
  method: 'post',
  path: '/admin/hosts',
  tags,
  summary: 'Register a host',
  roles: ['provisioner'],
  request: { headers: IdempotencyHeaders, body: jsonRequestBody(CreateHostBody) },
  responses: {
    201: { ...jsonContent(HostSchema, 'The new host.'), headers: z.object({ ETag: ETagHeader, Location: z.string() }) },
  },
});

export const listHosts = adminRoute({
  operationId: 'listHosts',
  action: 'host.list',
  method: 'get',
  path: '/admin/hosts',
  tags,
  summary: 'List hosts',
  roles: METADATA_READERS,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(HostListSchema, 'One page of hosts, oldest first.') },
});

export const getHost = adminRoute({
  operationId: 'getHost',
  action: 'host.read',
  problems: ['not_found'],
  method: 'get',
  path: '/admin/hosts/{host}',
  tags,
  summary: 'Get a host and its allocation',
  roles: METADATA_READERS,
  request: { params: HostParams },
  responses: {
    200: { ...jsonContent(HostSchema, 'The host.'), headers: z.object({ ETag: ETagHeader }) },
  },
});

export const patchHost = adminRoute({
  operationId: 'patchHost',
  action: 'host.update',
  problems: ['not_found', 'precondition_failed', 'capacity_conflict', 'name_taken'],
  method: 'patch',
  path: '/admin/hosts/{host}',
  tags,
  summary: 'Resize, rename or return a host to service',
  description: 'Shrinking below what is allocated is refused with `capacity_conflict`.',
  roles: ['provisioner'],
  request: { params: HostParams, headers: IfMatchHeaders, body: jsonRequestBody(PatchHostBody) },
  responses: {
    200: { ...jsonContent(HostSchema, 'The updated host.'), headers: z.object({ ETag: ETagHeader }) },
  },
});

export const deleteHost = adminRoute({
  operationId: 'deleteHost',
  action: 'host.delete',
  problems: ['not_found', 'precondition_failed', 'resource_in_use'],
  method: 'delete',
  path: '/admin/hosts/{host}',
  tags,
  summary: 'Remove an empty host',
  roles: ['provisioner'],
  request: { params: HostParams, headers: IfMatchHeaders },
  responses: { 204: { description: 'Removed.' } },
});

export const drainHost = adminRoute({
  operationId: 'drainHost',
  action: 'host.drain',
  problems: ['not_found', 'precondition_failed', 'invalid_state'],
  method: 'post',
  path: '/admin/hosts/{host}:drain',
  tags,
  summary: 'Drain a host',
  description:
    'Stops new placements and live-migrates every VM to other hosts. VMs that fit nowhere are reported as `stranded`; the host becomes `drained` once empty. With tenant VMs on it, a drain is significant (the two-person rule): it answers 202 with a change request a second `operator` approves; an empty host drains at once.',
  roles: ['operator'],
  request: { params: HostParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(DrainReportSchema, 'What moved and what could not.'), 202: changeAccepted },
});
