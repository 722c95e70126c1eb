/**
 * Building blocks of every route definition: the problem schema, the
 * per-route problem responses (RFC 9457), JSON bodies, and the entity-tag and
 * idempotency headers.
 */
import { z } from '@hono/zod-openapi';
import { PROBLEMS, type ProblemCode } from '../../lib/problems';
import { PROBLEM_CONTENT_TYPE } from './problem';

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:custodes:problem:no_capacity' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({
      description: `Stable and machine-readable: switch on it. An open set — a client must treat a code it does not know by the status. Known codes: ${Object.keys(
        PROBLEMS,
      )
        .map((c) => `\`${c}\``)
        .join(', ')}.`,
      example: 'not_found',
    }),
    requestId: z.string().openapi({ example: 'req_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'Per-field validation errors (`invalid_request`).' }),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: 'RFC 9457 problem details. Switch on `code`; it is stable.' });

/**
 * Declares an operation's problem responses: one per status, each listing
 * exactly the codes the operation can return (`x-custodes-problems`, and in
 * its description), so a client knows what to switch on. The route factories
 * (route-factories.ts) call it with the platform's codes for that kind of
 * route plus the route's own `problems`.
 */
export function problemResponses(codes: Iterable<ProblemCode>) {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set(codes)) byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [
        status,
        {
          description: `Problem: ${list.map((code) => `\`${code}\``).join(', ')}.`,
          'x-custodes-problems': list,
          content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
        },
      ]),
  );
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonRequestBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const ETagHeader = z.string().openapi({ description: 'Entity tag of the returned revision; send it back in `If-Match`.' });

export const IfMatchHeaders = z.object({
  'if-match': z.string().optional().openapi({ description: 'Apply only if the resource still has this entity tag (RFC 9110 §13.1.1); else 412.' }),
});

export const IdempotencyHeaders = z.object({
  'idempotency-key': z.string().optional().openapi({ description: 'Retry-safe key: a repeat with the same key and body replays the first response.' }),
});

/**
 * A compile-time tie between a service's view and the schema that documents
 * it: `true` only when each is assignable to the other, so neither can drift
 * (a field added to one and not the other fails the typecheck).
 */
export type SameShape<View, Schema extends z.ZodType> = [View] extends [z.output<Schema>] ? ([z.output<Schema>] extends [View] ? true : false) : false;
