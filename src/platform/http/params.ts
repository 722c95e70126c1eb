/**
 * Whole numbers in paths and query strings. They arrive as text; accepting
 * only digits means `null`, `""`, `-1`, `1e3` and `0x10` are refused before
 * any arithmetic, and — because a schema that accepted `null` or nothing
 * would be documented as optional — a path parameter built from this can
 * never come out `required: false` in the spec (swagger-parser and Spectral
 * reject that, and generators then drop the parameter).
 */
import { z } from '@hono/zod-openapi';

export function wholeNumber({ min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}) {
  return z
    .string()
    .regex(/^\d{1,16}$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: 'integer', minimum: min, maximum: max });
}
