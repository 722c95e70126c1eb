/**
 * The Custodes SDK: `import { … } from 'custodes/sdk'`. A client generated
 * from openapi.yaml (retry-safe: one Idempotency-Key per call, a fresh token
 * per attempt, one session per client), token minting, client-side page
 * encryption and byte ranges, and the offline audit verifier.
 */
export { createApiClient, type ApiClient, type ApiClientOptions, type components, type paths, type RetryOptions } from './client.ts';
export { CustodesApiError, type Problem } from './errors.ts';
export { auditSource, type AuditLogApi } from './audit-source.ts';
export { AlertInbox, openAlertDelivery, type AlertDelivery } from './alert-delivery.ts';
export { StreamVerificationError, verifiedAuditStream, type StreamEvent, type StreamFilter, type StreamOptions } from './audit-stream.ts';
export { cosignersOf, followHandovers, verifyAuditLog, type AuditSource, type KeyHandover, type VerifierState, type VerifyResult } from './audit-verify.ts';
export { decryptPage, encryptPage, EnvelopeError, newDataKey, PAGE_BYTES, type DataKey, type PageAddress, type Space } from './envelope.ts';
export {
  DataKeyUnavailableError,
  GuestContents,
  KeystoreMismatchError,
  latestWritesFromLog,
  pageVersionEnvelope,
  publishedRecordVerifier,
  StaleVersionError,
  type ContentTarget,
  type LatestWrites,
  type RecordVerifier,
} from './guest-contents.ts';
export { checkReadEvidence, ProviderMisbehaviourError, type ReadEvidence } from './read-evidence.ts';
export { checkLogContents, namedVersions, type ContentsReport, type NamedVersion } from './log-contents.ts';
export { newKeystore, unwrapDataKey, wrapDataKey, type Keystore } from './keystore.ts';
export { generatePrincipalKey, keyId, mintToken, publicKeyOf, type ImportedSigningKey, type PrincipalKey, type SigningAlgorithm } from './keys.ts';
export { rotateDataKeys, type RotationOptions, type RotationResult } from './rotation.ts';
export { checkSeals, sealClock, SealWatcher, type SealedRecord, type SealReport } from './seals.ts';
