/**
 * Where a webhook may go (issue 29): one policy, checked when a rule is
 * created and again before every delivery.
 *
 * A deployment posts only over https, to the default port (or one named in
 * `WEBHOOK_ALLOWED_PORTS`), to a host whose every address is a public unicast
 * address: the name is resolved (DNS over HTTPS, `WEBHOOK_DNS_RESOLVER`) and
 * each A/AAAA answer checked against the special-purpose registries (RFC 6890,
 * IANA's IPv4/IPv6 special-purpose address registries): loopback, private,
 * shared (100.64/10, RFC 6598), benchmarking (198.18/15, RFC 2544),
 * link-local, multicast, documentation, reserved, and the IPv6 forms that
 * embed an IPv4 address (mapped, NAT64, 6to4) by the address they embed.
 * An IP literal in any encoding (`0x7f000002`, `2130706434`) is normalised by
 * the WHATWG URL parser first, so it is checked as the address it is. Names
 * that only mean something inside a network (`localhost`, `*.internal`,
 * `*.local`, single labels) are refused before any lookup. Redirects are never
 * followed (deliveries.ts).
 *
 * The emulator posts only to this machine — `http://127.0.0.1:<port>` or
 * `http://localhost:<port>` — and never to its own origin (its API and its
 * `/_emulator` controls).
 *
 * The limit, stated: a Worker cannot pin the address its `fetch` connects to,
 * so a name that resolves differently between the check and the connection
 * (DNS rebinding with a zero TTL) is caught only by Cloudflare's own refusal
 * to connect Workers to private addresses.
 */

import { isPublicAddress, parseAddress } from '../../lib/ip-address';

export type Verdict = { ok: true; url: URL } | { ok: false; problem: string };

export interface WebhookPolicy {
  emulator: boolean;
  /** The emulator's own origin (`http://127.0.0.1:8787`): never a target. */
  selfOrigin?: string;
  /** Ports allowed besides the scheme's default (deployments). */
  allowedPorts?: readonly number[];
}

const refuse = (problem: string): Verdict => ({ ok: false, problem });

/** The host as a name or address: IPv6 brackets and a trailing root dot removed. */
const bareHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');

/** Names that resolve only inside a network, or to this machine. */
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|intranet|lan|home|corp|private|home\.arpa|in-addr\.arpa|ip6\.arpa|localdomain|test|invalid|example)$/i;

/** The checks that need no lookup: scheme, credentials, port, and the host as written. */
export function webhookUrlVerdict(text: string, policy: WebhookPolicy): Verdict {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse('not a URL');
  }
  if (url.username || url.password) return refuse('a webhook URL carries no credentials');
  if (policy.emulator) {
    if (url.protocol !== 'http:' || !(url.hostname === '127.0.0.1' || url.hostname === 'localhost'))
      return refuse('the emulator delivers only to http://127.0.0.1:<port> or http://localhost:<port>');
    const self = policy.selfOrigin ? new URL(policy.selfOrigin) : null;
    if (self && (url.port || '80') === (self.port || '80')) return refuse('the emulator does not deliver to itself (its API and its controls)');
    if (url.pathname.startsWith('/_emulator')) return refuse('the emulator does not deliver to its controls');
    return { ok: true, url };
  }
  if (url.protocol !== 'https:') return refuse('webhooks are delivered over https only');
  if (url.port && !(policy.allowedPorts ?? []).includes(Number(url.port)))
    return refuse(`webhooks go to the default https port only (port ${url.port} is not allowed)`);
  const host = bareHost(url);
  const literal = parseAddress(host);
  if (literal) return isPublicAddress(literal) ? { ok: true, url } : refuse('webhooks go to public addresses only');
  if (!host.includes('.') || INTERNAL_NAME.test(host)) return refuse('webhooks go to public hosts only');
  return { ok: true, url };
}

/** Answers the addresses a name resolves to (A and AAAA); throws when it cannot tell. */
export type Resolver = (name: string) => Promise<string[]>;

/** The whole policy: the URL as written, then (a deployment, a name) every address it resolves to. */
export async function checkWebhookUrl(text: string, policy: WebhookPolicy, resolve: Resolver): Promise<Verdict> {
  const verdict = webhookUrlVerdict(text, policy);
  if (!verdict.ok || policy.emulator) return verdict;
  const host = bareHost(verdict.url);
  if (parseAddress(host)) return verdict;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    return refuse(`the host could not be resolved (${(error as Error).message})`);
  }
  if (addresses.length === 0) return refuse('the host does not resolve');
  const inside = addresses.find((a) => {
    const parsed = parseAddress(a);
    return !parsed || !isPublicAddress(parsed);
  });
  return inside ? refuse(`the host resolves to ${inside}, which is not a public address`) : verdict;
}

/** DNS over HTTPS (RFC 8484's JSON flavour, as Cloudflare and Google serve it). */
export function dohResolver(endpoint: string, fetcher: typeof fetch = fetch): Resolver {
  return async function resolveOverHttps(name) {
    const answers = await Promise.all(
      ['A', 'AAAA'].map(async (type) => {
        const response = await fetcher(`${endpoint}?name=${encodeURIComponent(name)}&type=${type}`, {
          headers: { Accept: 'application/dns-json' },
          redirect: 'manual',
          signal: AbortSignal.timeout(3000),
        });
        if (!response.ok) throw new Error(`resolver answered ${response.status}`);
        const body = (await response.json()) as { Status?: number; Answer?: { type: number; data: string }[] };
        if (body.Status !== 0 && body.Status !== 3) throw new Error(`resolver status ${body.Status}`);
        return (body.Answer ?? []).filter((a) => a.type === 1 || a.type === 28).map((a) => a.data);
      }),
    );
    return answers.flat();
  };
}
