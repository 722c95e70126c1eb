/**
 * A witness (C2SP tlog-witness): it cosigns a log's checkpoint only if the
 * checkpoint extends, by a verified RFC 9162 consistency proof, the last one
 * it cosigned for that origin — so a provider that shows two histories under
 * one origin can get at most one of them cosigned by each honest witness, and
 * a verifier that demands a quorum of witnesses sees a split view as a
 * refusal (issue 17; docs/decisions.md, "Witnesses").
 *
 * `addCheckpoint` is the protocol's one call, as pure request → response:
 * the HTTP server (server.ts) and the tests drive the same code. Checking the
 * old size and recording the new checkpoint happen under one per-origin lock,
 * with the state persisted before the answer (the race the spec warns of).
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { cosignatureOf, cosignedMessage, cosignerVkey, parseCosignerVkey } from '../audit/format/cosignature';
import { verifyConsistency } from '../audit/format/merkle';
import { parseCheckpointBody, parseSignedNote, parseVerifierKey, signatureLine, signaturesBy, type Checkpoint, type VerifierKey } from '../audit/format/note';
import type { WitnessStore } from './store';

/** A log the witness follows: checkpoints whose origin matches, signed by one of `keys` (note vkeys). */
export interface WitnessedLogs {
  /** Exact origins, or prefixes ending in `*` (`custodes/tenants/*`). */
  origins: string[];
  /** The log's note verifier keys (several across a key hand-over). */
  keys: string[];
}

export interface WitnessOptions {
  /** The cosigner name, a schema-less URL (`witness.example/w1`). */
  name: string;
  /** Private Ed25519 JWK. */
  privateJwk: { kty: string; crv: string; x: string; d: string };
  logs: WitnessedLogs;
  store: WitnessStore;
  /** Seconds since the epoch (the cosignature's time). */
  now?: () => number;
}

export interface WitnessAnswer {
  status: 200 | 400 | 403 | 404 | 409 | 422;
  contentType: string;
  body: string;
}

const MAX_PROOF_LINES = 63;
const text = (status: WitnessAnswer['status'], body: string): WitnessAnswer => ({
  status,
  contentType: 'text/plain; charset=utf-8',
  body: body.endsWith('\n') ? body : `${body}\n`,
});

export class Witness {
  readonly vkey: string;
  readonly #key: KeyObject;
  readonly #cosigner: VerifierKey;
  readonly #logKeys: { key: VerifierKey; publicKey: KeyObject }[];
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: WitnessOptions) {
    const { name, privateJwk, logs } = options;
    this.#key = createPrivateKey({ key: privateJwk, format: 'jwk' });
    const publicKey = new Uint8Array(Buffer.from(privateJwk.x, 'base64url'));
    this.vkey = cosignerVkey(name, publicKey);
    this.#cosigner = parseCosignerVkey(this.vkey);
    this.#logKeys = logs.keys.map((vkey) => {
      const key = parseVerifierKey(vkey);
      return { key, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey).toString('base64url') }, format: 'jwk' }) };
    });
  }

  get name(): string {
    return this.options.name;
  }

  #follows(origin: string): boolean {
    return this.options.logs.origins.some((o) => (o.endsWith('*') ? origin.startsWith(o.slice(0, -1)) : origin === o));
  }

  /** `POST <prefix>/add-checkpoint`: the request body in, the answer out. */
  async addCheckpoint(request: string): Promise<WitnessAnswer> {
    const parsed = parseRequest(request);
    if (typeof parsed === 'string') return text(400, parsed);
    const { oldSize, proof, note } = parsed;
    let signed: ReturnType<typeof parseSignedNote>;
    let checkpoint: Checkpoint;
    try {
      signed = parseSignedNote(note);
      checkpoint = parseCheckpointBody(signed.body);
    } catch (error) {
      return text(400, `malformed checkpoint: ${(error as Error).message}`);
    }
    if (!this.#follows(checkpoint.origin)) return text(404, `unknown log origin ${checkpoint.origin}`);
    const body = Buffer.from(signed.body);
    const byLog = this.#logKeys.some(({ key, publicKey }) => signaturesBy(signed, key).some((s) => verify(null, body, publicKey, s.signature)));
    if (!byLog) return text(403, 'no signature on the checkpoint verifies against a log key this witness trusts');
    if (oldSize > checkpoint.size) return text(400, `old size ${oldSize} is beyond the checkpoint's size ${checkpoint.size}`);
    if (oldSize === 0 && proof.length > 0) return text(400, 'the consistency proof must be empty when the old size is 0');
    return this.#locked(checkpoint.origin, async () => {
      const latest = await this.options.store.get(checkpoint.origin);
      const latestSize = latest?.size ?? 0;
      if (oldSize !== latestSize) return { status: 409, contentType: 'text/x.tlog.size', body: `${latestSize}\n` } as WitnessAnswer;
      if (latest) {
        const latestRoot = new Uint8Array(Buffer.from(latest.root, 'base64'));
        if (latest.size === checkpoint.size) {
          if (!Buffer.from(latestRoot).equals(Buffer.from(checkpoint.root)))
            return text(409, `a different root for size ${checkpoint.size} than the one cosigned: the log forked`);
        } else if (latest.size > 0 && !verifyConsistency(latest.size, checkpoint.size, proof, latestRoot, checkpoint.root)) {
          return text(422, `the consistency proof from ${latest.size} to ${checkpoint.size} does not verify`);
        }
      }
      await this.options.store.set(checkpoint.origin, { size: checkpoint.size, root: Buffer.from(checkpoint.root).toString('base64'), checkpoint: note });
      const timestamp = Math.floor(this.options.now?.() ?? Date.now() / 1000);
      const signature = new Uint8Array(sign(null, cosignedMessage(signed.body, timestamp), this.#key));
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: signatureLine(cosignatureOf(this.#cosigner, timestamp, signature)) };
    });
  }

  /** Runs `fn` after every earlier call for `origin` (one at a time per origin). */
  async #locked<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(origin) ?? Promise.resolve();
    const run = before.then(fn, fn);
    this.#locks.set(
      origin,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** The add-checkpoint body: `old N`, up to 63 base64 proof lines, an empty line, the signed checkpoint. */
function parseRequest(request: string): { oldSize: number; proof: Uint8Array[]; note: string } | string {
  const blank = request.indexOf('\n\n');
  if (blank < 0) return 'the body is old size, proof lines, an empty line and the checkpoint';
  const head = request.slice(0, blank).split('\n');
  const old = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0] ?? '');
  if (!old) return 'the first line is "old <size>"';
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) return `at most ${MAX_PROOF_LINES} consistency proof lines`;
  const proof: Uint8Array[] = [];
  for (const line of lines) {
    const hash = Buffer.from(line, 'base64');
    if (!/^[A-Za-z0-9+/]{43}=$/.test(line) || hash.length !== 32) return `not a base64 SHA-256 hash: ${line.slice(0, 60)}`;
    proof.push(new Uint8Array(hash));
  }
  return { oldSize: Number(old[1]), proof, note: request.slice(blank + 2) };
}
