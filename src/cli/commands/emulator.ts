/**
 * `custodes emulator …`: the local emulator's controls (src/emulator), for
 * `npm start` or any instance in emulator mode. They take no principal's
 * key but the instance's control token (src/emulator/guard.ts): from
 * `CUSTODES_EMULATOR_TOKEN`, else `.custodes/emulator-token`, which `npm start`
 * writes at every start. A deployment has no such routes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { CustodesApiError, type Problem } from '../../sdk/errors';
import { action, baseUrl, numberOption, UsageError, type Emit, type GlobalOptions } from '../context';

const TOKEN_FILE = '.custodes/emulator-token';

/** The instance's control token: the environment's, else the file `npm start` wrote. */
function controlToken(): string {
  const fromEnv = process.env.CUSTODES_EMULATOR_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(TOKEN_FILE, 'utf8').trim();
  } catch {
    throw new UsageError(
      `No control token: run this where \`npm start\` runs (it writes ${TOKEN_FILE}), or set CUSTODES_EMULATOR_TOKEN (startCustodes() returns it as controlToken).`,
    );
  }
}

// biome-ignore lint/suspicious/noExplicitAny: each command reads the control's own answer
async function control(g: GlobalOptions, method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = { Authorization: `Bearer ${controlToken()}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  const response = await fetch(`${baseUrl(g)}/_emulator/${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const answer = await response.json().catch(() => null);
  if (response.status === 404 && (answer as Problem | null)?.code === 'route_not_found') {
    throw new UsageError(`${baseUrl(g)} is not in emulator mode (its /_emulator routes are off): these controls work against \`npm start\` or startCustodes.`);
  }
  if (response.status === 401 && (answer as Problem | null)?.code === 'control_token_invalid') {
    throw new UsageError(
      `${baseUrl(g)} refused the control token: each start makes a new one (${TOKEN_FILE} of the directory where that instance was started, or its startCustodes() controlToken).`,
    );
  }
  if (!response.ok) throw new CustodesApiError(answer as Problem);
  return answer;
}

/** A fixture or fault file: YAML (a superset of JSON), by path. */
function readDocument(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`${what} ${path} cannot be read.`);
  }
  try {
    return parse(text);
  } catch (error) {
    throw new UsageError(`${what} ${path} is not YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** `90s`, `15m`, `73h`, `2d`, or plain seconds; negative moves back. */
function duration(value: string): number {
  const match = /^(-?\d+)([smhd]?)$/.exec(value.trim());
  if (!match) throw new UsageError(`${value} is not a duration: use seconds, or a number with s, m, h or d (73h, -2d).`);
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
}

export function emulatorCommands(program: Command, emit: Emit): void {
  const emulator = program
    .command('emulator')
    .description("the local emulator's controls: reset, seed, faults, clock, recorder, export and import (npm start)");
  action(emulator.command('reset').description('empty every table; the logs start again from fresh checkpoints'), emit, async (_, o) => {
    const answer = await control(o, 'POST', 'reset');
    return { json: answer, text: `Reset: ${answer.tables} tables emptied, ${answer.logs} logs started again.` };
  });
  action(
    emulator
      .command('seed')
      .argument('<fixture>', 'YAML or JSON: hosts, tenants (public keys), VMs, toolstacks, labels')
      .description('load a fixture through the real API (every step audited)'),
    emit,
    async ([file], o) => {
      const answer = await control(o, 'POST', 'seed', readDocument(file!, 'The fixture'));
      const lines = Object.entries(answer.hosts as Record<string, string>).map(([name, id]) => `host    ${name}  ${id}`);
      for (const [name, t] of Object.entries(
        answer.tenants as Record<string, { id: string; vms: Record<string, string>; toolstacks: Record<string, string> }>,
      )) {
        lines.push(
          `tenant  ${name}  ${t.id}`,
          ...Object.entries(t.vms).map(([n, id]) => `  vm        ${n}  ${id}`),
          ...Object.entries(t.toolstacks).map(([n, id]) => `  toolstack ${n}  ${id}`),
        );
      }
      return { json: answer, text: `Seeded (${answer.requests.length} audited requests):\n${lines.join('\n')}` };
    },
  );
  const faults = emulator.command('faults').description('inject latency, problem answers, audit-batch failures or crashes after commit');
  action(faults.command('list').description('the fault rules in force'), emit, async (_, o) => {
    const answer = await control(o, 'GET', 'faults');
    return { json: answer, text: answer.faults.length ? answer.faults.map((f: Record<string, unknown>) => JSON.stringify(f)).join('\n') : '(no faults)' };
  });
  action(
    faults
      .command('set')
      .argument('<file>', 'YAML or JSON: a list of rules, e.g. [{kind: problem, route: "POST /v1/admin/hosts", status: 503, times: 1}]')
      .description('replace the fault rules'),
    emit,
    async ([file], o) => {
      const rules = readDocument(file!, 'The fault file');
      const answer = await control(o, 'PUT', 'faults', { faults: Array.isArray(rules) ? rules : (rules as { faults?: unknown }).faults });
      return { json: answer, text: `${answer.faults.length} fault rule(s) in force.` };
    },
  );
  action(faults.command('clear').description('remove every fault rule'), emit, async (_, o) => ({
    json: await control(o, 'DELETE', 'faults'),
    text: 'No faults.',
  }));
  const clock = emulator.command('clock').description("the server's clock");
  action(clock.command('show').description('the emulated time and its offset'), emit, async (_, o) => {
    const answer = await control(o, 'GET', 'clock');
    return { json: answer, text: `${answer.now} (${answer.emulated ? `${answer.offsetMs / 1000} s ahead` : 'real time'})` };
  });
  const clockSet = (answer: { now: string; offsetMs: number; emulated: boolean }) =>
    `The server's clock reads ${answer.now} (${answer.emulated ? `${answer.offsetMs / 1000} s ${answer.offsetMs >= 0 ? 'ahead' : 'behind'}` : 'real time'}). \`custodes\` and the SDK follow it: a token refused for its time is minted again on the server's clock.`;
  action(
    clock.command('advance').argument('<duration>', 'how far: seconds, or 90s, 15m, 73h, 2d (negative: back)').description("move the server's clock"),
    emit,
    async ([by], o) => {
      const answer = await control(o, 'POST', 'clock', { advanceSeconds: duration(by!) });
      return { json: answer, text: clockSet(answer) };
    },
  );
  action(
    clock
      .command('set')
      .argument('<instant>', 'an ISO 8601 date and time with its offset, e.g. 2027-01-01T00:00:00Z')
      .description("set the server's clock to an instant"),
    emit,
    async ([instant], o) => {
      if (Number.isNaN(Date.parse(instant!)) || !/^\d{4}-\d{2}-\d{2}T/.test(instant!))
        throw new UsageError(`${instant} is not an ISO 8601 date and time (e.g. 2027-01-01T00:00:00Z).`);
      const answer = await control(o, 'POST', 'clock', { set: instant });
      return { json: answer, text: clockSet(answer) };
    },
  );
  action(clock.command('reset').description("put the server's clock back on real time"), emit, async (_, o) => {
    const answer = await control(o, 'POST', 'clock', { reset: true });
    return { json: answer, text: clockSet(answer) };
  });
  action(
    emulator
      .command('export')
      .argument('<file>', "where to write it (it holds the emulator's audit signing key: mode 0600)")
      .description('save the whole state — D1, every log, the audit key — as one versioned file'),
    emit,
    async ([file], o) => {
      const state = await control(o, 'GET', 'state');
      writeFileSync(file!, `${JSON.stringify(state)}\n`, { mode: 0o600 });
      const rows = Object.values(state.tables as Record<string, { rows: unknown[] }>).reduce((sum, t) => sum + t.rows.length, 0);
      return {
        json: { file, tables: Object.keys(state.tables).length, rows, migrations: state.migrations.length },
        text: `Wrote ${rows} rows of ${Object.keys(state.tables).length} tables to ${file} (state format ${state.version}, ${state.migrations.length} migrations).`,
      };
    },
  );
  action(
    emulator
      .command('import')
      .argument('<file>', 'a file from `custodes emulator export` (or emu.snapshot())')
      .description('replace the whole state with a saved one (same audit key; an older file is migrated, a newer one refused)'),
    emit,
    async ([file], o) => {
      let text: string;
      try {
        text = readFileSync(file!, 'utf8');
      } catch {
        throw new UsageError(`The state file ${file} cannot be read.`);
      }
      let state: unknown;
      try {
        state = JSON.parse(text);
      } catch {
        throw new UsageError(`${file} is not JSON: a state file comes from \`custodes emulator export\`.`);
      }
      const answer = await control(o, 'PUT', 'state', state);
      const migrated = (answer.migratedThrough as string[]).length ? ` (brought through ${answer.migratedThrough.join(', ')})` : '';
      return {
        json: answer,
        text: `Loaded ${answer.rows} rows of ${answer.tables} tables from ${file}${migrated}. A saved audit state from before the export still verifies; one saved after it sees the log as rolled back.`,
      };
    },
  );
  const recorder = emulator.command('recorder').description('the last requests and answers (no tokens, no envelopes)');
  action<{ limit?: number }>(
    recorder
      .command('show')
      .description('method, path, status, time and audit position')
      .addOption(numberOption('--limit <n>', 'the last n (default all kept)')),
    emit,
    async (_, o) => {
      const answer = await control(o, 'GET', `recorder${o.limit ? `?limit=${o.limit}` : ''}`);
      const rows = (answer.recordings as { startedAt: string; method: string; url: string; status: number; durationMs: number; audit: string | null }[]).map(
        (r) => `${r.startedAt}  ${r.method.padEnd(6)} ${r.status}  ${String(r.durationMs).padStart(5)} ms  ${r.url}  ${r.audit ?? ''}`,
      );
      return { json: answer, text: rows.length ? rows.join('\n') : '(nothing recorded)' };
    },
  );
  action<{ out: string; limit?: number }>(
    recorder
      .command('har')
      .description("export as HAR 1.2 (for a browser's network panel, or a replay)")
      .requiredOption('--out <file>', 'where to write the HAR')
      .addOption(numberOption('--limit <n>', 'the last n')),
    emit,
    async (_, o) => {
      const har = await control(o, 'GET', `recorder.har${o.limit ? `?limit=${o.limit}` : ''}`);
      writeFileSync(o.out, `${JSON.stringify(har, null, 2)}\n`);
      return { json: { file: o.out, entries: har.log.entries.length }, text: `Wrote ${har.log.entries.length} entries to ${o.out}.` };
    },
  );
  action(recorder.command('clear').description('forget what was recorded'), emit, async (_, o) => ({
    json: await control(o, 'DELETE', 'recorder'),
    text: 'Recorder cleared.',
  }));
}
