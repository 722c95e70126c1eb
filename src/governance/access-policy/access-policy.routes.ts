/** A tenant's access policy (docs/design.md §7): per reason, deny, require approval, or allow for at most N minutes. */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { TenantParams } from '../../provider/tenants/tenants.schemas';
import { MAX_ACCESS_MINUTES, REASON_CODES } from '../access-requests/reasons';
import { POLICY_DECISIONS } from './access-policy.service';

const tags = ['access requests'];

const Rule = z.object({
  reasonCode: z.enum(REASON_CODES),
  decision: z
    .enum(POLICY_DECISIONS)
    .openapi({ description: '`deny`: refused at once; `approve`: the owner decides (the default); `allow`: approved at once, for at most `maxMinutes`.' }),
  maxMinutes: z.number().int().min(1).max(MAX_ACCESS_MINUTES).nullable(),
});
const PolicySchema = z.object({ rules: z.array(Rule) }).openapi('AccessPolicy');

export const getAccessPolicy = tenantRoute({
  operationId: 'getAccessPolicy',
  action: 'access.policy.read',
  method: 'get',
  path: '/tenants/{tenant}/access-policy',
  tags,
  summary: "What happens to a provider's access request, per reason",
  scope: 'owner',
  request: { params: TenantParams },
  responses: { 200: jsonContent(PolicySchema, 'One rule per reason of the catalogue.') },
});

export const putAccessPolicy = tenantRoute({
  operationId: 'setAccessPolicy',
  action: 'access.policy.set',
  method: 'put',
  path: '/tenants/{tenant}/access-policy',
  tags,
  summary: 'Set the access policy (reasons not named: the owner decides)',
  description: 'Break-glass (two security admins, at most 4 h, alerting you at once) and sealed legal requests are not decided by this policy.',
  scope: 'owner',
  request: {
    params: TenantParams,
    headers: IdempotencyHeaders,
    body: jsonRequestBody(
      z
        .strictObject({
          rules: z
            .array(
              z.strictObject({
                reasonCode: z.enum(REASON_CODES),
                decision: z.enum(POLICY_DECISIONS),
                maxMinutes: z.number().int().min(1).max(MAX_ACCESS_MINUTES).optional(),
              }),
            )
            .max(REASON_CODES.length),
        })
        .refine((p) => new Set(p.rules.map((r) => r.reasonCode)).size === p.rules.length, { message: 'each reason at most once', path: ['rules'] })
        .openapi('SetAccessPolicy'),
    ),
  },
  responses: { 200: jsonContent(PolicySchema, 'The policy now in force.') },
});
