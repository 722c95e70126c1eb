/**
 * What every command shares: the usage-error type (exit 2), option parsers,
 * the global options (--url, --key, --iss, --aud, --json) turned into a
 * signed client, and list output with paging (--page-size, --page-token, --all).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { JWK } from 'jose';
import { createApiClient, type ApiClient } from '../sdk/client';
import { table, type Column } from './table';

export const DEFAULT_URL = 'http://127.0.0.1:8787';
/** The enrolled admin `npm start` makes (docs/design.md §8): the admin commands' default key. */
export const LOCAL_ADMIN_KEY = '.custodes/admin.jwk';
/** Where `npm start` names the enrolled admins' ids, by key file: `{"admin": "adm_…", "admin-2": "adm_…"}`. */
const LOCAL_ADMINS_FILE = 'admins.json';

/**
 * The admin id a key file signs for, when `--iss` does not say: an enrolled
 * admin's key beside an `admins.json` (`.custodes/admin.jwk` → its `admin`),
 * or a bootstrap key file by its name (`bootstrap-admin-2.jwk` → `adm_bootstrap2`).
 */
export function adminIdOf(keyPath: string): string {
  const name = basename(keyPath).replace(/\.jwk$/, '');
  const bootstrap = /^bootstrap-admin(?:-(\d+))?$/.exec(name);
  if (bootstrap) return bootstrap[1] ? `adm_bootstrap${bootstrap[1]}` : 'adm_bootstrap';
  const admins = join(dirname(keyPath), LOCAL_ADMINS_FILE);
  const id = existsSync(admins) ? (JSON.parse(readFileSync(admins, 'utf8')) as Record<string, string>)[name] : undefined;
  if (id) return id;
  throw new UsageError(`Which admin signs with ${keyPath}? Pass --iss <adm_…> (or set CUSTODES_PRINCIPAL).`);
}

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command it concerns, e.g. `vm list`, for the pointer to its help. */
  command?: string;
}

const commandPath = (command: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

/** Output of one command: JSON for scripts, a table or a sentence for people. */
export interface Output {
  json: unknown;
  text: string;
  /** Bytes for standard output instead of `text` (a read without --out). */
  raw?: Uint8Array;
  /** Progress, printed at once (one JSON object a line with --json), before the command's result. */
  stream?: true;
}

/** The options every command accepts (defined on the program). */
export interface GlobalOptions {
  url?: string;
  key?: string;
  iss?: string;
  aud?: string;
  keystore?: string;
  /** The session (`sid`) every token of this invocation names: recovery follows sessions (docs/design.md §6). */
  sid?: string;
  json?: boolean;
}

/** The API's base URL: --url, else $CUSTODES_URL, else the local default; anything but an http(s) URL is a usage mistake. */
export function baseUrl(g: GlobalOptions): string {
  const url = g.url ?? process.env.CUSTODES_URL ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${url} is not a URL: give the API's base URL, e.g. --url ${DEFAULT_URL}.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`${url} is not an http(s) URL: give the API's base URL, e.g. --url ${DEFAULT_URL}.`);
  return url.replace(/\/+$/, '');
}

/** A key file the CLI can use: an Ed25519 (OKP) or P-256 (EC) JWK, as `custodes keygen` writes. */
function readKeyFile(path: string, what: string): JWK {
  if (!existsSync(path)) {
    const hint = path === LOCAL_ADMIN_KEY ? ' Run `npm start` once: it enrols the local admins and writes their keys to .custodes/.' : '';
    throw new UsageError(`${what} ${path} does not exist.${hint}`);
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
  } catch {
    throw new UsageError(`${what} ${path} is not a JSON Web Key.`);
  }
  const supported =
    (jwk?.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string') ||
    (jwk?.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string');
  if (!supported) throw new UsageError(`${what} ${path} is not a JSON Web Key Custodes signs with (an Ed25519 or P-256 key, as \`custodes keygen\` writes).`);
  return jwk;
}

/** The admin id of a local admin's key file (see adminIdOf), or null for any other key. */
export function localAdminIdOf(keyPath: string): string | null {
  try {
    return adminIdOf(keyPath);
  } catch {
    return null;
  }
}

/** A private key to sign with (--key). */
export function readJwk(path: string, what: string): JWK {
  const jwk = readKeyFile(path, what);
  if (typeof jwk.d !== 'string')
    throw new UsageError(`${what} ${path} holds a public key only: signing needs the private JWK (the file \`custodes keygen --out\` wrote).`);
  return jwk;
}

/** The public half of a key given to the provider (--public-key, --owner-key): a private key is refused, so it is never handed around by mistake. */
export function readPublicJwk(path: string, flag: string): JWK {
  const jwk = readKeyFile(path, `The ${flag} file`);
  if (jwk.d !== undefined) {
    throw new UsageError(
      `${path} holds a private key: ${flag} takes the public half only (\`custodes keygen\` writes it beside the private key, as ${publicKeyPathOf(path)}).`,
    );
  }
  return jwk;
}

/** Where `custodes keygen` writes the public half of the private key at `path`. */
export const publicKeyPathOf = (path: string): string => (path.endsWith('.jwk') ? `${path.slice(0, -'.jwk'.length)}.pub.jwk` : `${path}.pub`);

/** The client of an admin (or, with --iss, any principal): --key, else $CUSTODES_KEY, else the local bootstrap admin's key. */
export function adminClient(g: GlobalOptions): ApiClient {
  const keyPath = g.key ?? process.env.CUSTODES_KEY ?? LOCAL_ADMIN_KEY;
  return createApiClient({
    baseUrl: baseUrl(g),
    key: readJwk(keyPath, 'Key file'),
    principal: g.iss ?? process.env.CUSTODES_PRINCIPAL ?? adminIdOf(keyPath),
    session: g.sid,
    ...(g.aud ? { audience: g.aud } : {}),
  });
}

/** Option parsers: a malformed value is a usage error (commander reports it, exit 2). */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number.');
  return Number(value);
}
/** A `sid`: what the API accepts in the claim (platform/http/limits.ts CLAIM_ID). */
export function sessionId(value: string): string {
  if (!/^[A-Za-z0-9._~:-]{1,128}$/.test(value)) throw new InvalidArgumentError('expected 1–128 characters of A–Z a–z 0–9 . _ ~ : -');
  return value;
}
export const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
export const spaceList = (value: string): string[] => value.split(/[\s,]+/).filter(Boolean);

/** An option taking one of `choices`; commander refuses any other value (exit 2). */
export const choiceOption = (flags: string, description: string, choices: readonly string[], required = false) => {
  const option = new Option(flags, description).choices(choices);
  return required ? option.makeOptionMandatory() : option;
};

/** `value` without its undefined members: the query of optional filters. */
export const defined = <T extends object>(value: T) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Whole-number option; `required` makes commander insist on it. */
export const numberOption = (flags: string, description: string, required = false) => {
  const option = new Option(flags, description).argParser(wholeNumber);
  return required ? option.makeOptionMandatory() : option;
};

export interface PageOptions {
  pageSize?: number;
  pageToken?: string;
  all?: boolean;
}

/** Adds the paging options every list command takes. */
export const withPaging = (command: Command): Command =>
  command
    .addOption(numberOption('--page-size <n>', 'items per page'))
    .option('--page-token <token>', 'continue from a previous page')
    .option('--all', 'follow every page');

/** A list command's output: one page, or with --all every page, and the token of the next. */
export async function listOutput<K extends string, T>(
  options: PageOptions,
  key: K,
  fetchPage: (page: { pageSize?: number; pageToken?: string }) => Promise<{ [k in K]: T[] } & { nextPageToken?: string }>,
  columns: readonly Column<T>[],
): Promise<Output> {
  const items: T[] = [];
  let pageToken = options.pageToken;
  let next: string | undefined;
  do {
    const page = await fetchPage({ ...(options.pageSize ? { pageSize: options.pageSize } : {}), ...(pageToken ? { pageToken } : {}) });
    items.push(...page[key]);
    next = page.nextPageToken;
    pageToken = next;
  } while (options.all && next);
  const more = next ? `\n(more: --page-token ${next}, or --all)` : '';
  return { json: { [key]: items, ...(next ? { nextPageToken: next } : {}) }, text: table(items, columns) + more };
}

/** A single item as a table. */
export const one = <T>(item: T, columns: readonly Column<T>[]): Output => ({ json: item, text: table([item], columns) });

/**
 * Registers a command's action: commander hands it the positional arguments,
 * then its own options; the program's options come from `optsWithGlobals`.
 * The output is handed to `emit` (main.ts prints it).
 */
export type Emit = (output: Output) => void;
export function action<O>(command: Command, emit: Emit, run: (args: string[], options: O & GlobalOptions & PageOptions) => Promise<Output>): Command {
  // Commander checks required options before unknown ones; checking them here instead lets a stray flag be named first.
  const required = command.options.filter((option) => option.mandatory);
  for (const option of required) {
    option.mandatory = false;
    option.description = `${option.description} (required)`;
  }
  return command.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    const missing = required.find((option) => self.getOptionValue(option.attributeName()) === undefined);
    try {
      if (missing) throw new UsageError(`required option '${missing.flags}' not specified.`);
      const args = params.slice(0, -2).filter((p): p is string => typeof p === 'string');
      const options = self.optsWithGlobals<O & GlobalOptions & PageOptions>();
      // Every client of one invocation shares a session, so recovery sees the command as one.
      options.sid ??= process.env.CUSTODES_SESSION ?? crypto.randomUUID();
      emit(await run(args, options));
    } catch (error) {
      if (error instanceof UsageError) error.command ??= commandPath(self);
      throw error;
    }
  });
}
