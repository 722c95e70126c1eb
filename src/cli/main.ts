/**
 * `custodes`: the command line for Custodes, on commander (chosen for its
 * per-command options and help, strict unknown-option errors with "did you
 * mean" suggestions, and no dependencies of its own). Keys live in files you
 * own; every API call signs a fresh single-use token with them. Tables for
 * people, `--json` for scripts. Exit codes: 0 done, 1 the API or the
 * verification said no, 2 a usage mistake.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { CustodesApiError, type Problem } from '../sdk/errors';
import { auditCommands, VerificationFailed } from './commands/audit';
import { ProviderMisbehaviourError } from '../sdk/read-evidence';
import { adminCommands, changeCommands, providerAccessCommands, tenantAccessCommands } from './commands/governance';
import { emulatorCommands } from './commands/emulator';
import { witnessCommands } from './commands/witness';
import { alertCommands } from './commands/alerts';
import { keyCommands } from './commands/keys';
import { databaseCommands, hostCommands, tenantAdminCommands, vmAdminCommands } from './commands/provider';
import { exposureCommand, labelCommands, recoverCommands } from './commands/recovery';
import { diskCommands, keystoreCommands, memoryCommands, snapshotCommands, toolstackCommands, vmCommands } from './commands/tenant';
import { DEFAULT_URL, LOCAL_ADMIN_KEY, sessionId, UsageError, type GlobalOptions, type Output } from './context';
import { DEFAULT_KEYSTORE } from './keystore-file';

/** Set by the bundle (scripts/build-cli.ts); in the checkout, the project's own package.json says. */
declare const CUSTODES_CLI_VERSION: string | undefined;
const version =
  typeof CUSTODES_CLI_VERSION === 'string' ? CUSTODES_CLI_VERSION : (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out: (text: string | Uint8Array) => void;
  err: (text: string) => void;
}
const processIo: Io = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) };

/** The whole command tree; `emit` receives each command's output. */
export function buildProgram(io: Io, emit: (output: Output) => void): Command {
  const program = new Command('custodes')
    .description('the Custodes cloud API from the command line')
    .version(version, '-V, --version', 'print the CLI version')
    .option('--url <url>', `API base URL (default $CUSTODES_URL, else ${DEFAULT_URL})`)
    .option('--key <file>', `private JWK signing the requests (default $CUSTODES_KEY, else ${LOCAL_ADMIN_KEY} for admin commands)`)
    .option(
      '--iss <id>',
      'principal owning --key (default $CUSTODES_PRINCIPAL; for admin commands, the id .custodes/admins.json gives the key file; --tenant for tenant commands)',
    )
    .option('--aud <audience>', 'token audience (default custodes)')
    .option('--keystore <file>', `the tenant's local keystore, which wraps its data keys (default $CUSTODES_KEYSTORE, else ${DEFAULT_KEYSTORE})`)
    .option(
      '--sid <sid>',
      'the session (`sid` claim) every token of this invocation names (default $CUSTODES_SESSION, else a fresh one per invocation)',
      sessionId,
    )
    .option('--json', "print the API's JSON instead of a table")
    .exitOverride()
    .showSuggestionAfterError()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });

  keyCommands(program, emit);
  const admin = program.command('admin').description('provider administration (an admin key)');
  hostCommands(admin, emit);
  databaseCommands(admin, emit);
  tenantAdminCommands(admin, emit);
  vmAdminCommands(admin, emit);
  changeCommands(admin, emit);
  adminCommands(admin, emit);
  providerAccessCommands(admin, emit);
  keystoreCommands(program, emit);
  toolstackCommands(program, emit);
  vmCommands(program, emit);
  memoryCommands(program, emit);
  diskCommands(program, emit);
  snapshotCommands(program, emit);
  labelCommands(program, emit);
  exposureCommand(program, emit);
  recoverCommands(program, emit);
  tenantAccessCommands(program, emit);
  auditCommands(program, emit);
  emulatorCommands(program, emit);
  witnessCommands(program, emit);
  alertCommands(program, emit);
  return program;
}

/** Hints for problems a person can fix from the command line. */
const HINTS: Partial<Record<Problem['code'], string>> = {
  token_key_unknown: 'The key is not registered with this API. Check --key, or restart with the keys `npm start` created.',
  token_claims_invalid: 'Is --iss the id of the principal that owns --key?',
  token_expired: "Check this machine's clock.",
  token_not_yet_valid: "Check this machine's clock.",
  missing_role: 'Ask a security admin for the role, or use another admin key.',
  no_capacity: 'Add a host (`custodes admin hosts create`) or drain fewer.',
  quota_exceeded: 'Raise the tenant quota (`custodes admin tenants update ID --vcpus N`).',
  precondition_failed: 'Someone changed it meanwhile: read it again and retry.',
  missing_scope: 'Give the toolstack that scope (its ceiling) or use the owner key.',
  token_scope_exceeds_ceiling: "The toolstack's ceiling does not include that scope; the owner can register one that does.",
  index_out_of_range: "The VM's memory (or the disk) is smaller than offset + length.",
};

function describeProblem(problem: Problem): string {
  const lines = [`error: ${problem.title} (${problem.code})`];
  // A validation problem's detail repeats its errors; list them one per line instead.
  const errors = problem.errors as { path: string; message: string }[] | undefined;
  lines.push(...(errors ? errors.map((e) => `  - ${e.path}: ${e.message}`) : [`  ${problem.detail}`]));
  const hint = HINTS[problem.code];
  if (hint) lines.push(`hint: ${hint}`);
  lines.push(`request id: ${problem.requestId}`);
  return lines.join('\n');
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let output: Output | undefined;
  // A command's progress (`stream`: a followed log's records) is printed as it comes; its result at the end.
  const print = (o: Output) => {
    if (o.raw && !globals().json) io.out(o.raw);
    else io.out(`${globals().json ? JSON.stringify(o.json, null, o.stream ? 0 : 2) : o.text}\n`);
  };
  const program = buildProgram(io, (o) => {
    if (o.stream) print(o);
    else output = o;
  });
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  try {
    if (argv.length === 0) {
      io.err(program.helpInformation());
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    if (output) print(output);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0; commander already printed the message.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\nRun \`custodes ${error.command ? `${error.command} ` : ''}--help\` for usage.\n`);
      return 2;
    }
    if (error instanceof VerificationFailed) {
      io.err(`${error.message}\n`);
      return 1;
    }
    if (error instanceof ProviderMisbehaviourError) {
      // Nothing was decrypted or written: the provider served bytes its own signed log contradicts.
      io.err(
        `error: ${error.message}\nNo plaintext was returned. Keep this output: it is evidence against the provider (the records are in your audit log).\n`,
      );
      return 1;
    }
    if (error instanceof CustodesApiError) {
      io.err(`${globals().json ? JSON.stringify(error.problem, null, 2) : describeProblem(error.problem)}\n`);
      return 1;
    }
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED' || (error as Error).message === 'fetch failed') {
      io.err(`error: cannot reach ${globals().url ?? process.env.CUSTODES_URL ?? DEFAULT_URL}. Is the API running? Start it with \`npm start\`.\n`);
      return 1;
    }
    // Anything else is a fault of ours or of the machine: one line, no stack trace (set CUSTODES_DEBUG=1 for it).
    io.err(`error: ${(error as Error).message ?? String(error)}\n`);
    if (process.env.CUSTODES_DEBUG) io.err(`${(error as Error).stack}\n`);
    return 1;
  }
}
