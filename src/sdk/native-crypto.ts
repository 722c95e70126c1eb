/**
 * node:crypto when this is Node itself (not workerd or a browser), else null.
 * The SDK runs in all three (the console bundles parts of it for the
 * browser): where Node is there, its synchronous calls replace WebCrypto's
 * promise per operation — a page sealed or opened, a token signed — which
 * costs more than the cryptography itself at these sizes.
 */
import type * as NodeCrypto from 'node:crypto';

export const nodeCrypto: typeof NodeCrypto | null = await (async () => {
  const isNode =
    typeof process !== 'undefined' &&
    !!process.versions?.node &&
    ((globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '') !== 'Cloudflare-Workers';
  if (!isNode) return null;
  try {
    return await import('node:crypto');
  } catch {
    return null;
  }
})();
