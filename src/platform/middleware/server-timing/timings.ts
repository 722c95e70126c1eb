/**
 * Where one request's time goes, for the `Server-Timing` response header
 * (W3C Server Timing): named spans, each summed over its occurrences, plus a
 * `phase` that labels the D1 calls made while it is current (`d1.auth`,
 * `d1.handler`…), so "which part of the request asked D1 what" needs no guess.
 *
 * Local runtimes (wrangler dev, Miniflare) advance the clock during CPU work,
 * so spans of pure computation are real there; a deployed Worker's clock
 * moves only at I/O, where this measures waits, not CPU.
 */
export class RequestTimings {
  readonly #spans = new Map<string, { ms: number; count: number }>();
  readonly #started = performance.now();
  /** The part of the request now running: names the D1 calls it makes. */
  phase = 'pre';

  add(name: string, ms: number, count = 1): void {
    const span = this.#spans.get(name) ?? { ms: 0, count: 0 };
    span.ms += ms;
    span.count += count;
    this.#spans.set(name, span);
  }

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - start);
    }
  }

  /** `name;dur=…` entries, then `total`; a span that ran more than once says how often (`desc`). */
  header(): string {
    const entries = [...this.#spans].map(([name, { ms, count }]) => `${name};dur=${ms.toFixed(2)}${count > 1 ? `;desc="${count} calls"` : ''}`);
    return [...entries, `total;dur=${(performance.now() - this.#started).toFixed(2)}`].join(', ');
  }
}

type D1Method = 'all' | 'first' | 'run' | 'raw';
const TIMED_METHODS = new Set<string>(['all', 'first', 'run', 'raw']);
/** A timed statement answers its D1 original to this key: a batch must be given D1's own objects. */
const UNWRAP = Symbol('unwrap');
// A timed statement carries its original under a symbol the D1 types do not declare.
const unwrapped = (statement: D1PreparedStatement): D1PreparedStatement =>
  (statement as unknown as Record<symbol, D1PreparedStatement | undefined>)[UNWRAP] ?? statement;

/** D1 with every statement and batch timed into `timings` under `d1.<phase>`. */
export function timedD1(d1: D1Database, timings: RequestTimings): D1Database {
  const timeStatement = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property) {
        if (property === UNWRAP) return target;
        const value = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        if (property === 'bind') return (...params: unknown[]) => timeStatement((value as D1PreparedStatement['bind']).apply(target, params));
        if (TIMED_METHODS.has(property as string)) {
          return (...args: unknown[]) =>
            timings.time(`d1.${timings.phase}`, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as ReturnType<
              D1PreparedStatement[D1Method]
            >;
        }
        return value.bind(target);
      },
    });
  return new Proxy(d1, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property === 'prepare') return (query: string) => timeStatement(target.prepare(query));
      if (property === 'batch') {
        return (statements: D1PreparedStatement[]) => timings.time(`d1.${timings.phase}`, () => target.batch(statements.map(unwrapped)));
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Where an append's time went in its log's sequencer, ms (the request's Server-Timing shows it). */
export interface SequencerTimings {
  /** Waiting for the group before it to commit. */
  queue: number;
  /** Signing the group's records (all at once). */
  sign: number;
  /** Signing the group's checkpoint. */
  checkpoint: number;
  /** The group's one D1 batch. */
  batch: number;
}
