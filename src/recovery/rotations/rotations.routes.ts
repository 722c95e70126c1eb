/** Rotation after an exposure (docs/design.md §6): recorded once the tenant re-sealed its pages under a new data key. */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { LabelName } from '../labels/labels.routes';

const KeyId = z.string().regex(/^key_[0-9A-Z]{26}$/);

const RotationBody = z
  .strictObject({
    labels: z.array(LabelName).min(1).max(100).openapi({ description: 'The labels whose exposure this rotation answers.' }),
    retire: z
      .array(KeyId)
      .min(1)
      .max(100)
      .openapi({ description: 'The wrapped data keys to delete: every current page sealed with them has been re-sealed under a new key.' }),
    resealed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({ description: 'Pages the client re-sealed.' }),
  })
  .openapi('RecordRotation');

const RotationSchema = z
  .object({ tenant: TenantId, labels: z.array(z.string()), retired: z.array(z.string()), rotatedAt: z.string(), auditIndex: z.number().int() })
  .openapi('Rotation');

export const recordRotation = tenantRoute({
  operationId: 'createRotation',
  action: 'recovery.rotate',
  method: 'post',
  path: '/tenants/{tenant}/recovery/rotations',
  tags: ['recovery'],
  summary: 'Record a rotation: delete the retired data keys, mark the labels rotated',
  description:
    "The last step of `rotateDataKeys` in the SDK (`custodes recover rotate`): the client has re-sealed, under a new data key, every current page sealed with the keys it retires. This deletes their wrapped copies in the same audited batch — so old versions sealed with them, the exposed ones among them, can no longer be opened by anyone holding only the provider's state — and the exposure report shows each earlier read of the labels as rotated.",
  scope: 'recovery',
  reach: 'tenant-wide',
  problems: ['not_found'],
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(RotationBody) },
  responses: { 201: jsonContent(RotationSchema, 'The rotation, as recorded.') },
});
