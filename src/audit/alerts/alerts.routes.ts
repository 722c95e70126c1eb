/** Alert rules (issue 19): a tenant's webhooks for the records it must hear about at once. */
import { z } from '@hono/zod-openapi';
import { jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { ALERT_KIND_DESCRIPTIONS, ALERT_KINDS } from './alert-rules';

const tags = ['alerts'];
const AlertId = z
  .string()
  .regex(/^alr_[0-9A-Z]{26}$/)
  .openapi({ example: 'alr_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const Kind = z.enum(ALERT_KINDS).openapi({
  description: `${Object.entries(ALERT_KIND_DESCRIPTIONS)
    .map(([k, d]) => `\`${k}\`: ${d}`)
    .join('; ')}.`,
});

const AlertSchema = z.object({ id: AlertId, tenant: TenantId, kind: Kind, url: z.string(), createdAt: z.string() }).openapi('AlertRule');
const CreateAlertSchema = z
  .strictObject({
    kind: Kind,
    url: z.string().max(2048).openapi({
      description:
        'Where deliveries are POSTed. A deployment: https, the default port (or one in `WEBHOOK_ALLOWED_PORTS`), a host whose every address is public (no loopback, private, shared, benchmarking, link-local, multicast, reserved or metadata address, in any encoding); checked again before every delivery, redirects never followed. The emulator: `http://127.0.0.1:<port>` or `http://localhost:<port>` only, never the emulator itself.',
      example: 'https://hooks.example.com/custodes',
    }),
  })
  .openapi('CreateAlertRule');

export const createAlert = tenantRoute({
  operationId: 'createAlertRule',
  action: 'alert.create',
  scope: 'owner',
  problems: ['invalid_request', 'quota_exceeded'],
  method: 'post',
  path: '/tenants/{tenant}/alerts',
  tags,
  summary: 'Push matching records to a webhook as they commit',
  description:
    "Each record of the tenant's log that the rule matches is POSTed to `url` right after it commits, as `application/jose`: a compact JWS by the audit key (keys at /.well-known/jwks.json) whose payload is `{id, rule, kind, tenant, log, index, record, attempt, sentAt}`, `record` being the record's own JWS. Delivered once per record index; a failure is retried with backoff (1 s, doubling, up to 5 min). Receivers verify both signatures and drop an `id` they have seen. A tenant's alerts make at most 60 deliveries a minute; more wait for the next minute.",
  request: { params: TenantParams, body: jsonRequestBody(CreateAlertSchema) },
  responses: { 201: { ...jsonContent(AlertSchema, 'The rule.'), headers: z.object({ Location: z.string() }) } },
});

export const listAlerts = tenantRoute({
  operationId: 'listAlertRules',
  action: 'alert.list',
  scope: 'owner',
  method: 'get',
  path: '/tenants/{tenant}/alerts',
  tags,
  summary: 'List alert rules',
  request: { params: TenantParams },
  responses: { 200: jsonContent(z.object({ alerts: z.array(AlertSchema) }).openapi('AlertRuleList'), 'Every rule of the tenant.') },
});

export const deleteAlert = tenantRoute({
  operationId: 'deleteAlertRule',
  action: 'alert.delete',
  scope: 'owner',
  method: 'delete',
  path: '/tenants/{tenant}/alerts/{alert}',
  tags,
  summary: 'Delete an alert rule',
  request: { params: TenantParams.extend({ alert: AlertId.openapi({ param: { name: 'alert', in: 'path' } }) }) },
  responses: { 204: { description: 'Deleted; deliveries still being retried stop.' } },
});

const DeliverySchema = z
  .object({
    index: z.number().int().openapi({ description: "The record delivered (its index in the tenant's log)." }),
    attempts: z.number().int(),
    deliveredAt: z.string().nullable(),
    lastError: z
      .string()
      .nullable()
      .openapi({ description: 'Why the last attempt failed (an HTTP status, a refusal by the webhook policy, a network error).' }),
    nextAttemptAt: z.string().nullable().openapi({ description: 'When an undelivered record is tried again.' }),
  })
  .openapi('AlertDelivery');

export const listDeliveries = tenantRoute({
  operationId: 'listAlertDeliveries',
  action: 'alert.deliveries.list',
  scope: 'owner',
  problems: ['not_found'],
  method: 'get',
  path: '/tenants/{tenant}/alerts/{alert}/deliveries',
  tags,
  summary: 'What a rule delivered, and what failed',
  description: 'The newest deliveries of the rule first (at most `limit`): only the tenant that owns the rule sees them.',
  request: {
    params: TenantParams.extend({ alert: AlertId.openapi({ param: { name: 'alert', in: 'path' } }) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ description: 'Most deliveries returned.' }) }),
  },
  responses: { 200: jsonContent(z.object({ deliveries: z.array(DeliverySchema) }).openapi('AlertDeliveryList'), "The rule's deliveries, newest first.") },
});
