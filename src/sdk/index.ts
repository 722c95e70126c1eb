/**
 * The Custodes SDK for tenant programs: `import { … } from 'custodes/sdk'`.
 * A typed client generated from openapi.yaml, token minting, client-side
 * page encryption, byte-range helpers and the offline audit verifier.
 */
export { createApiClient, type ApiClient, type ApiClientOptions, type paths } from './client';
export { verifyAuditLog, type AuditSource, type VerifierState, type VerifyResult } from './audit-verify';
export { decryptPage, encryptPage, EnvelopeError, newDataKey, PAGE_BYTES, type DataKey, type PageAddress, type Space } from './envelope';
export { GuestContents, latestWritesFromLog, StaleVersionError, type ContentTarget, type LatestWrites } from './guest-contents';
export { newKeystore, unwrapDataKey, wrapDataKey, type Keystore } from './keystore';
export { generatePrincipalKey, keyId, mintToken, publicKeyOf } from './keys';
export { CustodesApiError, type Problem } from './errors';
