/**
 * The recorder: the last requests and their answers, kept in the isolate's
 * memory in emulator mode, so a failing test can show — or replay — what its
 * program said to the API. It never keeps a secret the program sent or got:
 * bearer tokens are redacted from headers, envelopes (guest contents, even as
 * ciphertext) and anything shaped like a compact JWS/JWT from bodies.
 * Exportable as HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/).
 */
const DEFAULT_CAPACITY = 500;
/** Longest body kept per message: the recorder is for reading, not an archive. */
const MAX_BODY_CHARS = 64 * 1024;
const REDACTED = '[redacted]';
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);
/** A compact JWS or JWT (three parts) or JWE (five; a wrapped data key): tokens and key material, never kept. */
const COMPACT_JOSE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*){2}(\.[A-Za-z0-9_-]*){0,2}$/;
const COMPACT_JOSE_IN_TEXT = /[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*){2}(\.[A-Za-z0-9_-]*){0,2}/g;
/** JSON members that carry guest contents or key material, whatever their shape. */
const SECRET_MEMBERS = new Set(['envelope', 'envelopes', 'jws', 'token', 'wrapped', 'd']);

export interface RecordedMessage {
  headers: [string, string][];
  body: string | null;
  contentType: string | null;
}

export interface Recording {
  id: number;
  startedAt: string;
  durationMs: number;
  method: string;
  url: string;
  status: number;
  request: RecordedMessage;
  response: RecordedMessage;
  /** The request's Custodes-Audit header: where its record is (or its receipt). */
  audit: string | null;
  requestId: string | null;
  /** A webhook delivery the emulator made: the tenant whose alert it was. */
  tenant?: string;
}

const recordings: Recording[] = [];
let capacity = DEFAULT_CAPACITY;
let nextId = 1;

export function setRecorderCapacity(n: number): void {
  capacity = n;
  recordings.splice(0, Math.max(0, recordings.length - capacity));
}

export const recorderCapacity = (): number => capacity;

export function record(entry: Omit<Recording, 'id'>): void {
  recordings.push({ id: nextId++, ...entry });
  if (recordings.length > capacity) recordings.shift();
}

export const recorded = (limit = capacity): Recording[] => recordings.slice(-limit);

export function clearRecorder(): void {
  recordings.length = 0;
}

export const redactHeaders = (headers: Headers): [string, string][] =>
  [...headers.entries()].map(([name, value]) => [
    name,
    SECRET_HEADERS.has(name.toLowerCase()) ? (/^bearer /i.test(value) ? `Bearer ${REDACTED}` : REDACTED) : value,
  ]);

function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return COMPACT_JOSE.test(value) && value.length > 24 ? REDACTED : value;
  if (Array.isArray(value)) return value.map(redactJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_MEMBERS.has(k) && v !== null ? REDACTED : redactJson(v)]));
  }
  return value;
}

/** A body as kept: JSON with its secrets redacted; other text only when it holds no token; nothing binary. */
export function redactBody(text: string, contentType: string | null): string | null {
  if (!text) return null;
  if (contentType && /json/i.test(contentType)) {
    try {
      return cap(JSON.stringify(redactJson(JSON.parse(text))));
    } catch {
      return REDACTED; // not the JSON it claims: keep nothing of it
    }
  }
  if (contentType && /^text\//i.test(contentType)) return cap(text.replace(COMPACT_JOSE_IN_TEXT, REDACTED));
  return `[${text.length} characters of ${contentType ?? 'unknown type'} not kept]`;
}

const cap = (text: string): string => (text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…[truncated]` : text);

/** The recordings as a HAR 1.2 log. */
export function toHar(entries: readonly Recording[], origin: string, version: string) {
  const har = (message: RecordedMessage) => message.headers.map(([name, value]) => ({ name, value }));
  return {
    log: {
      version: '1.2',
      creator: { name: 'custodes-emulator', version },
      entries: entries.map((e) => {
        const url = new URL(e.url, origin);
        return {
          startedDateTime: e.startedAt,
          time: e.durationMs,
          request: {
            method: e.method,
            url: url.href,
            httpVersion: 'HTTP/1.1',
            headers: har(e.request),
            queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
            cookies: [],
            headersSize: -1,
            bodySize: e.request.body?.length ?? 0,
            ...(e.request.body !== null ? { postData: { mimeType: e.request.contentType ?? 'application/octet-stream', text: e.request.body } } : {}),
          },
          response: {
            status: e.status,
            statusText: '',
            httpVersion: 'HTTP/1.1',
            headers: har(e.response),
            cookies: [],
            content: {
              size: e.response.body?.length ?? 0,
              mimeType: e.response.contentType ?? 'application/octet-stream',
              ...(e.response.body !== null ? { text: e.response.body } : {}),
            },
            redirectURL: '',
            headersSize: -1,
            bodySize: e.response.body?.length ?? -1,
          },
          cache: {},
          timings: { send: 0, wait: e.durationMs, receive: 0 },
          _custodesAudit: e.audit,
          _requestId: e.requestId,
        };
      }),
    },
  };
}
