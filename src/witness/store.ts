/**
 * A witness's memory: per log origin, the latest checkpoint it cosigned. It
 * must outlive restarts (a witness that forgets can be shown a fork), so the
 * file store writes a new copy and renames it over the old one before the
 * witness answers: a crash leaves either state, never half of one.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface WitnessedCheckpoint {
  size: number;
  /** Base64 root hash. */
  root: string;
  /** The signed checkpoint as it was cosigned. */
  checkpoint: string;
}

export interface WitnessStore {
  get(origin: string): Promise<WitnessedCheckpoint | null>;
  set(origin: string, latest: WitnessedCheckpoint): Promise<void>;
}

export class MemoryWitnessStore implements WitnessStore {
  readonly #latest = new Map<string, WitnessedCheckpoint>();
  async get(origin: string) {
    return this.#latest.get(origin) ?? null;
  }
  async set(origin: string, latest: WitnessedCheckpoint) {
    this.#latest.set(origin, latest);
  }
}

export class FileWitnessStore implements WitnessStore {
  #state: Record<string, WitnessedCheckpoint>;

  constructor(private readonly path: string) {
    this.#state = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { logs: Record<string, WitnessedCheckpoint> }).logs : {};
  }

  async get(origin: string) {
    return this.#state[origin] ?? null;
  }

  async set(origin: string, latest: WitnessedCheckpoint) {
    const next = { ...this.#state, [origin]: latest };
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ logs: next }, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
    this.#state = next;
  }
}
