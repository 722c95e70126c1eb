/**
 * The signed audit record's payload (audit/format/record.ts), as a schema:
 * the JSON inside each record's JWS, which tenants parse to see who did what.
 * The records routes name it in `x-custodes-payload`.
 */
import { z } from '@hono/zod-openapi';
import type { JsonValue as Json } from '../format/canonical-json';
import type { AuditRecord } from '../format/record';
import type { SameShape } from '../../platform/http/responses';

/** Free-form JSON (a recursive schema would loop the generator): typed for TypeScript, documented as any object. */
const JsonObject = z
  .custom<{ [key: string]: Json }>((value) => typeof value === 'object' && value !== null && !Array.isArray(value))
  .openapi({ type: 'object', additionalProperties: true });

const Region = z.object({
  space: z.enum(['memory', 'disk']),
  resource: z.string().openapi({ description: 'VM id (memory) or disk id.' }),
  index: z.number().int(),
  version: z.number().int(),
  digest: z.string().nullable().openapi({ description: '`sha256:` + hex of the envelope bytes; null only for a rollback to unwritten (version 0).' }),
  access: z.enum(['read', 'write', 'rollback']),
  copyOf: z.number().int().optional().openapi({ description: 'A server-side copy (snapshot restore): the version of the same page this version copies.' }),
});

export const AuditRecordSchema = z
  .object({
    v: z.literal(1),
    log: z.string().openapi({ example: 'tenants/ten_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' }),
    index: z.number().int(),
    time: z.string(),
    requestId: z.string(),
    actor: z.object({
      type: z.enum(['admin', 'tenant', 'toolstack', 'anonymous', 'system']),
      id: z.string().nullable(),
      kid: z.string().nullable(),
      jti: z.string().nullable(),
      sid: z.string().optional().openapi({ description: "The token's session claim, when it had one." }),
      ip: z.string().nullable(),
    }),
    action: z.string().openapi({ example: 'vm.memory.read' }),
    target: z.object({ type: z.string(), id: z.string() }).nullable(),
    outcome: z.enum(['allowed', 'denied', 'failed']),
    reason: z.string().nullable().openapi({ description: 'The problem code of a denied or failed request.' }),
    request: z.object({ method: z.string(), path: z.string() }),
    status: z.number().int().optional(),
    regions: z.array(Region).optional().openapi({ description: 'Pages and blocks read or written, each with its version and digest.' }),
    details: JsonObject.optional().openapi({ description: "What else the action recorded (a patch, a change request, a summary's counts)." }),
    clock: z
      .object({ emulated: z.literal(true), offsetMs: z.number().int() })
      .optional()
      .openapi({ description: 'Present only in emulator mode with the clock moved: `time` is on the emulated clock, `offsetMs` ahead of the real one.' }),
  })
  .openapi('AuditRecord', { description: "The payload of an audit record's JWS (RFC 8785 canonical JSON; its bytes are the Merkle leaf)." });

/** The documented payload is exactly the record the sequencer signs (a compile-time check). */
export const auditRecordMatchesSchema: SameShape<AuditRecord, typeof AuditRecordSchema> = true;
