/**
 * Guest contents (docs/design.md §3, §8): memory pages of a VM and blocks of a disk,
 * one set of routes per space with the same shapes and rules — batched
 * writes, range reads, exact past versions — for the tenant's own principals
 * only. The records list every page and version read or written, with its
 * ciphertext digest.
 */
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import type { AuditedAction } from '../../audit/actions';
import { z } from '@hono/zod-openapi';
import { DiskParams } from '../disks/disks.schemas';
import { TenantParams } from '../../provider/tenants/tenants.schemas';
import { TenantVmParams } from '../vms/tenant-vms.routes';
import {
  CONTENT_BODY_BYTES,
  PageRangeQuery,
  PagesSchema,
  ReadFrame,
  VersionParamsShape,
  VersionReadSchema,
  WriteFrame,
  WritePagesBody,
  WrittenPagesSchema,
} from './contents.schemas';

function contentRoutes<const S extends { base: string; kind: 'memory' | 'disk'; actions: { read: AuditedAction; write: AuditedAction } }>({
  base,
  kind,
  actions,
}: S) {
  const memory = kind === 'memory';
  const [page, what] = memory ? ['page', 'memory pages'] : ['block', 'disk blocks'];
  const params = memory ? TenantVmParams : DiskParams;
  const tags = [memory ? 'memory' : 'disks'];
  const name = memory ? 'MemoryPages' : 'DiskBlocks';
  return {
    write: tenantRoute({
      operationId: `write${name}`,
      action: actions.write,
      problems: ['invalid_envelope', 'index_out_of_range', 'precondition_failed'],
      method: 'put',
      path: base as S['base'],
      tags,
      summary: `Write ${what} (client-encrypted envelopes)`,
      description: `Each ${page} written becomes a new retained version. An index beyond the ${memory ? "VM's memory" : 'disk'}: \`index_out_of_range\`; a malformed envelope: \`invalid_envelope\`. The body is JSON (envelopes in base64) or, as the SDK and CLI send it, \`application/octet-stream\` (\`WritePagesFrame\`); a frame that is not one: \`invalid_request\`.`,
      scope: memory ? 'memory:write' : 'disk:write',
      maxBodyBytes: CONTENT_BODY_BYTES,
      request: {
        params,
        headers: IdempotencyHeaders,
        // Not `required` here: the route's validator would then demand JSON of every body; the document says required (app.ts).
        body: { required: false, content: { 'application/json': { schema: WritePagesBody }, 'application/octet-stream': { schema: WriteFrame } } },
      },
      responses: { 200: jsonContent(WrittenPagesSchema, `The new version of each ${page}.`) },
    }),
    read: tenantRoute({
      operationId: `read${name}`,
      action: actions.read,
      problems: ['index_out_of_range'],
      method: 'get',
      path: base as S['base'],
      tags,
      summary: `Read a range of ${what} (current versions)`,
      scope: memory ? 'memory:read' : 'disk:read',
      description: `JSON, or the binary \`PagesFrame\` when \`Accept\` prefers \`application/octet-stream\` (the SDK and CLI ask for it).`,
      request: { params, query: PageRangeQuery },
      responses: {
        200: {
          description: `The written ${page}s of the range.`,
          content: { 'application/json': { schema: PagesSchema }, 'application/octet-stream': { schema: ReadFrame } },
        },
      },
    }),
    readVersion: tenantRoute({
      operationId: memory ? 'readMemoryPageVersion' : 'readDiskBlockVersion',
      action: actions.read,
      method: 'get',
      path: `${base}/{index}/versions/{version}` as `${S['base']}/{index}/versions/{version}`,
      tags,
      summary: `Read an exact past version of a ${memory ? 'memory page' : 'disk block'}`,
      scope: memory ? 'memory:read' : 'disk:read',
      request: { params: params.extend(VersionParamsShape) },
      responses: { 200: jsonContent(VersionReadSchema, `That version of the ${page}, with the records to check it against.`) },
    }),
  };
}

export const memory = contentRoutes({
  base: '/tenants/{tenant}/vms/{vm}/memory/pages',
  kind: 'memory',
  actions: { read: 'vm.memory.read', write: 'vm.memory.write' },
});
export const diskBlocks = contentRoutes({
  base: '/tenants/{tenant}/disks/{disk}/blocks',
  kind: 'disk',
  actions: { read: 'disk.blocks.read', write: 'disk.blocks.write' },
});

const PurgeBody = z
  .strictObject({
    space: z.enum(['memory', 'disk']),
    resource: z
      .string()
      .regex(/^(vm|dsk)_[0-9A-Z]{26}$/)
      .openapi({ description: 'The deleted VM (memory) or disk whose versions to purge.' }),
  })
  .openapi('PurgeContents');

const PurgedSchema = z
  .object({
    purged: z
      .array(z.object({ index: z.number().int(), version: z.number().int(), digest: z.string() }))
      .openapi({ description: 'The versions this call purged; its record names each one.' }),
    remaining: z.number().int().openapi({ description: 'Versions of the resource still retained: call again while above zero.' }),
  })
  .openapi('PurgedContents');

export const purge = tenantRoute({
  operationId: 'purgeContents',
  action: 'contents.purge',
  scope: 'owner',
  problems: ['resource_in_use'],
  method: 'post',
  path: '/tenants/{tenant}/purges',
  tags: ['memory', 'disks'],
  summary: 'Purge the retained versions of a deleted VM or disk',
  description:
    "Deleting a VM or a disk keeps its page versions, readable by version (`…/versions/{version}`), because records of the tenant's log name them. This is the only way they go: the owner purges them, at most 512 a call, and the record names every version and digest purged. A resource that still exists: `resource_in_use` (delete it first; to make live versions unreadable, rotate their data key).",
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(PurgeBody) },
  responses: { 200: jsonContent(PurgedSchema, 'What was purged, and what remains.') },
});
