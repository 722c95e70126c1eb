/** Audit key rotation (docs/design.md §5, §7): the next signing key is approved by two admins before it may sign. */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonRequestBody } from '../../platform/http/responses';
import { adminRoute } from '../../http/route-factories';
import { changeAccepted } from '../changes/changes.routes';

export const proposeAuditKey = adminRoute({
  operationId: 'proposeAuditKey',
  action: 'audit.key.propose',
  problems: ['name_taken'],
  method: 'post',
  path: '/admin/audit/keys',
  tags: ['audit'],
  summary: 'Propose the next audit signing key (a second `security` admin approves)',
  description:
    'Send the public half only. Once approved, deploy the private key as `AUDIT_SIGNING_JWK`: the first request a Worker serves with it activates it (an `audit.key.activate` record) and retires the previous key, which stays in the JWKS. A key nobody approved never signs: a Worker given one answers 503 `audit_unavailable`.',
  roles: ['security'],
  request: {
    headers: IdempotencyHeaders,
    body: jsonRequestBody(
      z
        .strictObject({ publicKey: z.record(z.string(), z.unknown()).openapi({ description: 'Ed25519 public JWK: `{kty: "OKP", crv: "Ed25519", x}`.' }) })
        .openapi('ProposeAuditKey'),
    ),
  },
  responses: { 202: changeAccepted },
});
