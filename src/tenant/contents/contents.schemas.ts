/** Shapes shared by memory pages and disk blocks (docs/design.md §4, §8). */
import { z } from '@hono/zod-openapi';
import { ENVELOPE_BASE64_LENGTH, ENVELOPE_BYTES, MAX_PAGES_PER_CALL } from './contents.service';
import { wholeNumber } from '../../platform/http/params';

const PageIndex = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const Envelope = z
  .string()
  .length(ENVELOPE_BASE64_LENGTH)
  .openapi({
    description: `Base64 (padded) of a ${ENVELOPE_BYTES}-byte envelope: \`0x01 | key-id (16) | nonce (12) | AES-256-GCM ciphertext of 4096 bytes + tag (16)\`. The server checks shape and size only.`,
  });

export const Digest = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/)
  .openapi({ description: '`sha256:` + hex of the envelope bytes.' });

export const WritePagesBody = z
  .strictObject({
    pages: z
      .array(z.strictObject({ index: PageIndex, envelope: Envelope }))
      .min(1)
      .max(MAX_PAGES_PER_CALL),
  })
  .openapi('WritePages', { description: `1–${MAX_PAGES_PER_CALL} pages, each index at most once.` });

export const PageVersionSchema = z.object({ index: z.number().int(), version: z.number().int(), digest: Digest }).openapi('PageVersion');

export const WrittenPagesSchema = z
  .object({ pages: z.array(PageVersionSchema), auditIndex: z.number().int().openapi({ description: 'Index of the audit record that lists these versions.' }) })
  .openapi('WrittenPages');

export const StoredPageSchema = PageVersionSchema.extend({ envelope: Envelope }).openapi('StoredPage');

const SignedRecordSchema = z
  .object({
    index: z.number().int(),
    jws: z.string().openapi({ description: 'The record as signed by the audit key (compact JWS; keys at /.well-known/jwks.json).' }),
  })
  .openapi('SignedRecord');

export const ReadEvidenceSchema = z
  .object({
    read: SignedRecordSchema.openapi({
      description: "This read's own record, committed before the answer: its `regions` name each version served with its digest.",
    }),
    writes: z.array(SignedRecordSchema).openapi({ description: 'The records that wrote the versions served: each names its version with the digest written.' }),
  })
  .openapi('ReadEvidence', {
    description:
      'What a reader checks the bytes against, without trusting the provider: the SHA-256 of each envelope must equal the digest its version has in both records, and both must verify under the audit key. The SDK and CLI refuse to decrypt otherwise (`ProviderMisbehaviourError`).',
  });

export const PagesSchema = z
  .object({
    pages: z.array(StoredPageSchema).openapi({ description: 'Written pages only, by index; an absent page reads as zeros.' }),
    evidence: ReadEvidenceSchema,
  })
  .openapi('Pages');

export const VersionReadSchema = StoredPageSchema.extend({ evidence: ReadEvidenceSchema }).openapi('PageVersionRead');

export const PageRangeQuery = z.object({
  start: wholeNumber().openapi({ description: 'First page index.' }),
  count: wholeNumber({ min: 1, max: MAX_PAGES_PER_CALL }).openapi({ description: `Pages to read, 1–${MAX_PAGES_PER_CALL}.` }),
});

export const VersionParamsShape = {
  index: wholeNumber().openapi({ param: { name: 'index', in: 'path' } }),
  version: wholeNumber({ min: 1 }).openapi({ param: { name: 'version', in: 'path' } }),
};

/** The binary forms (lib/page-frames.ts), as OpenAPI describes bytes. */
export const WriteFrame = z.string().openapi('WritePagesFrame', {
  format: 'binary',
  description:
    'The same pages as bytes, without base64 or JSON: `"CPW" 0x01 | count (u32) | count × (index (u64) | envelope (4141 bytes))`, integers big-endian. Answered as JSON (`WrittenPages`).',
});

export const ReadFrame = z.string().openapi('PagesFrame', {
  format: 'binary',
  description:
    'Sent when `Accept` prefers `application/octet-stream` to JSON: `"CPR" 0x01 | count (u32) | count × (index (u64) | version (u32) | SHA-256 (32 bytes) | envelope (4141 bytes)) | evidence length (u32) | evidence (UTF-8 JSON, as `ReadEvidence`)`, integers big-endian.',
});

/** Bodies of up to 256 envelopes in base64, with room for JSON. */
export const CONTENT_BODY_BYTES = 2 * 1024 * 1024;
