/** Load runs with autocannon, shared by the benches: one scenario's figures, and requests that each carry a fresh token. */
import autocannon from 'autocannon';

export const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
export interface Figures {
  title: string;
  connections: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  unexpected: number;
}

/**
 * Requests/s of a closed loop of `connections` clients, by Little's law: each
 * client has one request in flight, so throughput = clients ÷ mean latency.
 * autocannon's own rate (and its end of run) moves in whole-second ticks,
 * which for a 5-second run is a ±20% error; the mean latency is exact.
 */
export const closedLoopRate = (connections: number, r: autocannon.Result): number => (connections * 1000) / r.latency.average;

export function load(title: string, connections: number, options: autocannon.Options): Promise<Figures> {
  return new Promise((resolve, reject) => {
    autocannon({ connections, amount: REQUESTS, ...options }, (error, r) => {
      if (error) return reject(error);
      resolve({
        title,
        connections,
        requests: r.requests.total,
        rps: closedLoopRate(connections, r),
        p50: r.latency.p50,
        p99: r.latency.p99,
        unexpected: r.non2xx + r.errors + r.timeouts,
      });
    });
  });
}

/**
 * The audited VM create the benches measure, as autocannon requests: each with a fresh token, into `tenant`
 * (or the n-th request's tenant), 1 vCPU and 128 MiB, named `${prefix}-${n + offset}` (names are unique per tenant).
 */
export function vmCreates(
  tokens: string[],
  tenant: string | ((n: number) => string),
  { prefix = 'vm', offset = 0, headers }: { prefix?: string; offset?: number; headers?: (n: number) => Record<string, string> } = {},
): autocannon.Request[] {
  return signedRequests(
    tokens,
    'POST',
    (n) => `/v1/admin/tenants/${typeof tenant === 'string' ? tenant : tenant(n)}/vms`,
    (n) => ({ name: `${prefix}-${n + offset}`, vcpus: 1, memoryMiB: 128 }),
    headers,
  );
}

/** autocannon requests that each carry a fresh token; `body(n)` gives the n-th JSON body, `headers(n)` any more headers. */
export function signedRequests(
  tokens: string[],
  method: string,
  path: (n: number) => string,
  body?: (n: number) => unknown,
  headers?: (n: number) => Record<string, string>,
): autocannon.Request[] {
  let n = 0;
  return [
    {
      method: method as autocannon.Request['method'],
      setupRequest: (req) => {
        const i = n++;
        return {
          ...req,
          path: path(i),
          headers: { ...req.headers, authorization: `Bearer ${tokens.pop()}`, 'content-type': 'application/json', ...headers?.(i) },
          ...(body ? { body: JSON.stringify(body(i)) } : {}),
        };
      },
    },
  ];
}
