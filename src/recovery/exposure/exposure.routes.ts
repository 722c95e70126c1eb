/** The exposure report (docs/design.md §6, §8): per label, every read that touched it. */
import { z } from '@hono/zod-openapi';
import { jsonContent } from '../../platform/http/responses';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { tenantRoute } from '../../http/route-factories';
import { DiskId } from '../../tenant/disks/disks.schemas';
import { LabelName } from '../labels/labels.routes';
import { TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';

const Instant = z.iso.datetime({ offset: true });

const ReadSchema = z
  .object({
    auditIndex: z.number().int().openapi({ description: "The read's record in the tenant's log: verify it there." }),
    time: z.string(),
    actor: z.object({ type: z.enum(['admin', 'tenant', 'toolstack', 'anonymous', 'system']), id: z.string().nullable() }),
    toolstack: z.string().nullable().openapi({ description: 'The toolstack that read, when one did.' }),
    jti: z.string().nullable().openapi({ description: 'The token that read.' }),
    session: z.string().nullable().openapi({ description: "Its client session: the token's `sid` claim, else its jti." }),
    rotatedAt: z.string().nullable().openapi({
      description:
        'When the label was rotated after this read — its data re-sealed under a new key, the keys the read versions were sealed with deleted — or null.',
    }),
    pages: z.array(z.object({ index: z.number().int(), version: z.number().int() })),
  })
  .openapi('ExposureRead');
const Labelled = z.object({ name: z.string(), start: z.number().int(), count: z.number().int(), exposed: z.boolean(), reads: z.array(ReadSchema) });
const LabelExposureSchema = z
  .union([Labelled.extend({ space: z.literal('memory'), vm: VmId }), Labelled.extend({ space: z.literal('disk'), disk: DiskId })])
  .openapi('LabelExposure');
const ExposureSchema = z.object({ labels: z.array(LabelExposureSchema), nextPageToken: nextPageTokenSchema }).openapi('Exposure');

export const exposureReport = tenantRoute({
  operationId: 'getExposureReport',
  action: 'exposure.read',
  method: 'get',
  path: '/tenants/{tenant}/exposure',
  tags: ['exposure'],
  summary: 'Which labelled regions were read, by whom, with which token, and which versions',
  description:
    'Every label of the tenant (or the one asked for), by name and paged like every list, with the allowed reads that touched it, oldest first. Each read names its audit record, so the report can be checked against the verified log.',
  scope: 'audit:read',
  request: {
    params: TenantParams,
    query: PageQuerySchema.extend({
      label: LabelName.optional().openapi({ description: 'Only this label.' }),
      actor: z.string().min(1).max(64).optional().openapi({ description: 'Only reads by this principal (toolstack, owner or admin id).' }),
      from: Instant.optional().openapi({ description: 'Only reads at or after this instant.' }),
      to: Instant.optional().openapi({ description: 'Only reads before this instant.' }),
    }),
  },
  responses: { 200: jsonContent(ExposureSchema, 'The report.') },
});
