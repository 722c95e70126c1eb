/**
 * The emulator's controls, under /_emulator: reset, seed, faults, clock,
 * the recorder, and the whole state as one file (export, import). Served only in emulator mode; a deployment answers every one
 * of these paths exactly as it answers any path it has no route for. Each
 * call that changes something is recorded in the provider log as an
 * `emulator.*` action by the actor `system/emulator`. They take no token: the
 * emulator serves a developer's own machine (127.0.0.1).
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AuditedAction } from '../audit/actions';
import type { JsonValue } from '../audit/format/canonical-json';
import { appendToLog } from '../audit/log/append';
import { PROVIDER_LOG } from '../audit/log/logs';
import type { CommitResult } from '../audit/log/commit';
import { emulatorDraft } from './records';
import type { AppEnv, Env } from '../env';
import { clockOffsetMs, now, nowIso, setClockOffset } from '../platform/clock';
import { copyStore } from './store-copy';
import { exportState, importState } from './state-file';
import { problemResponse } from '../platform/http/problem';
import { API_VERSION } from '../platform/version';
import { FaultRulesSchema } from './faults';
import { hideNewest, swappedKey } from './integrity-faults';
import { clearRecorder, recorded, toHar } from './recorder';
import { resetEmulator } from './reset';
import { FixtureSchema, seed, type Dispatch } from './seed';
import { loadEmulatorState, saveEmulatorState } from './state';
import { ensureSigningKeyRegistered } from '../audit/signing/audit-key-registry';
import { clientAddress } from '../platform/http/limits';

/** A control call's record: by `system/emulator`, in the provider log. */
const controlDraft = (c: Context<AppEnv>, action: AuditedAction, details: { [key: string]: JsonValue }) =>
  emulatorDraft(c.get('requestId'), action, { method: c.req.method, path: new URL(c.req.url).pathname }, clientAddress(c), details);

/** Names a control's record in the answer's Custodes-Audit header; a refused record is the server's failure. */
function namedRecord(c: Context<AppEnv>, action: AuditedAction, result: CommitResult): void {
  if (!result.ok) throw new Error(`the ${action} record was refused: ${result.message}`);
  c.header('Custodes-Audit', `log=${PROVIDER_LOG}; index=${result.auditIndex}`);
}

/** Records a control call in the provider log, and names the record in the answer. */
async function recordControl(c: Context<AppEnv>, action: AuditedAction, details: { [key: string]: JsonValue }) {
  const draft = controlDraft(c, action, details);
  await ensureSigningKeyRegistered(c.env, { requestId: draft.requestId, request: draft.request });
  namedRecord(c, action, await appendToLog(c.env, PROVIDER_LOG, draft));
}

/** Parses a JSON body with `schema`; a problem response when it does not fit. */
async function parsed<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<{ ok: true; value: z.output<T> } | { ok: false; response: Response }> {
  const text = await c.req.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    return { ok: false, response: problemResponse(c, 'malformed_json', 'The body is not valid JSON.') };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const errors = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  return { ok: false, response: problemResponse(c, 'invalid_request', "The body does not match the control's schema.", { errors }) };
}

const TEN_YEARS_S = 10 * 365 * 86_400;
/** Move the clock by seconds (either way), set it to an instant, or put it back on real time. */
const ClockBody = z.union([
  z.strictObject({ advanceSeconds: z.number().int().min(-TEN_YEARS_S).max(TEN_YEARS_S) }),
  z.strictObject({ set: z.iso.datetime({ offset: true }) }),
  z.strictObject({ reset: z.literal(true) }),
]);
const FaultsBody = z.strictObject({ faults: FaultRulesSchema });

/** `serve` is the app itself: seeding sends its steps through it. */
export function emulatorRouter(serve: (request: Request, env: Env) => Promise<Response>) {
  return (
    new Hono<AppEnv>()
      // What is here (the start banner used to point at this path): each control and what it does.
      .get('/', (c) =>
        c.json({
          controls: {
            'POST /_emulator/reset': 'empty every table; the logs start again',
            'POST /_emulator/seed': 'load a fixture through the real API',
            'GET|PUT|DELETE /_emulator/faults': 'the fault rules in force',
            'GET|POST /_emulator/clock': "the server's clock: {advanceSeconds} | {set} | {reset: true}",
            'GET|PUT /_emulator/state': 'the whole state as one file (export, import)',
            'GET|DELETE /_emulator/recorder': 'the last requests and answers (recorder.har: as HAR 1.2)',
            'POST /_emulator/schema': "the start's migrations, applied by the Worker (once per start: the launcher's call)",
          },
          cli: 'npx custodes emulator --help',
        }),
      )
      .post('/reset', async (c) => {
        // The reset's record is committed in the batch that empties the store (./reset.ts).
        const { cleared, result } = await resetEmulator(c.env, (details) => controlDraft(c, 'emulator.reset', { ...details }));
        clearRecorder();
        namedRecord(c, 'emulator.reset', result);
        return c.json({ reset: true, ...cleared });
      })
      .post('/seed', async (c) => {
        const fixture = await parsed(c, FixtureSchema);
        if (!fixture.ok) return fixture.response;
        const dispatch: Dispatch = (request) => serve(request, c.env);
        const result = await seed(c.env, dispatch, new URL(c.req.url).origin, fixture.value);
        const summary = {
          hosts: Object.keys(result.report.hosts).length,
          tenants: Object.keys(result.report.tenants).length,
          requests: result.report.requests,
          ...(result.ok ? {} : { failedStep: result.step }),
        };
        await recordControl(c, 'emulator.seed', summary);
        if (!result.ok)
          return problemResponse(c, 'seed_failed', `The fixture step ${result.step} was refused (${result.status}); the steps before it were made.`, {
            step: result.step,
            stepStatus: result.status,
            stepProblem: result.problem as never,
            seeded: result.report as never,
          });
        return c.json(result.report, 201);
      })
      .get('/faults', async (c) => c.json({ faults: (await loadEmulatorState(c.env.DB)).faults }))
      .put('/faults', async (c) => {
        const body = await parsed(c, FaultsBody);
        if (!body.ok) return body.response;
        const state = await loadEmulatorState(c.env.DB);
        // A drop-newest-record rule hides, a split-view rule forks, each log's newest record as of now (integrity-faults.ts).
        const hidden = body.value.faults.some((f) => f.kind === 'drop-newest-record' || f.kind === 'split-view') ? await hideNewest(c) : undefined;
        // A rollback-store rule copies the whole store as it is now: what the rollback will restore.
        let copiedAt: string | undefined;
        if (body.value.faults.some((f) => f.kind === 'rollback-store')) {
          await copyStore(c.env.DB);
          copiedAt = nowIso();
        }
        const faults = await Promise.all(
          body.value.faults.map(async (f) => {
            if (f.kind === 'drop-newest-record') return { ...f, hidden };
            if (f.kind === 'split-view') return { ...f, forkAt: hidden };
            if (f.kind === 'swap-bootstrap-key') return { ...f, key: f.key ?? (await swappedKey()) };
            if (f.kind === 'rollback-store') return { ...f, copiedAt };
            return f;
          }),
        );
        await saveEmulatorState(c.env.DB, { ...state, faults });
        await recordControl(c, 'emulator.faults.set', { faults: faults as never });
        return c.json({ faults });
      })
      .delete('/faults', async (c) => {
        const state = await loadEmulatorState(c.env.DB);
        await saveEmulatorState(c.env.DB, { ...state, faults: [] });
        await recordControl(c, 'emulator.faults.set', { faults: [] });
        return c.json({ faults: [] });
      })
      .get('/clock', (c) => c.json(clockView()))
      .post('/clock', async (c) => {
        const body = await parsed(c, ClockBody);
        if (!body.ok) return body.response;
        const state = await loadEmulatorState(c.env.DB);
        const move = body.value;
        const clockOffset = 'reset' in move ? 0 : 'set' in move ? Date.parse(move.set) - Date.now() : state.clockOffsetMs + move.advanceSeconds * 1000;
        await saveEmulatorState(c.env.DB, { ...state, clockOffsetMs: clockOffset });
        setClockOffset(clockOffset);
        const how: { [key: string]: JsonValue } =
          'reset' in move ? { reset: true } : 'set' in move ? { setTo: move.set } : { advancedSeconds: move.advanceSeconds };
        await recordControl(c, 'emulator.clock.set', { ...how, offsetMs: clockOffset });
        return c.json(clockView());
      })
      // The whole state as one file (state-file.ts): it holds the audit signing key, so only the control token reads it.
      .get('/state', async (c) => c.json(await exportState(c.env, nowIso())))
      .put('/state', async (c) => {
        let file: unknown;
        try {
          file = JSON.parse(await c.req.text());
        } catch {
          return problemResponse(c, 'malformed_json', 'The body is not valid JSON: send a state file from `custodes emulator export` or emu.snapshot().');
        }
        const loaded = await importState(c.env, file);
        if (!loaded.ok) return problemResponse(c, loaded.code, loaded.detail);
        clearRecorder();
        await recordControl(c, 'emulator.state.import', {
          tables: loaded.tables,
          rows: loaded.rows,
          migratedThrough: loaded.migratedThrough,
          exportedAt: String((file as { exportedAt?: unknown }).exportedAt ?? ''),
        });
        return c.json({ imported: true, tables: loaded.tables, rows: loaded.rows, migratedThrough: loaded.migratedThrough });
      })
      .get('/recorder', (c) => c.json({ recordings: recorded(limitOf(c)) }))
      .get('/recorder.har', (c) => c.json(toHar(recorded(limitOf(c)), new URL(c.req.url).origin, API_VERSION)))
      .delete('/recorder', async (c) => {
        clearRecorder();
        await recordControl(c, 'emulator.recorder.clear', {});
        return c.json({ cleared: true });
      })
  );
}

const clockView = () => ({ now: new Date(now()).toISOString(), offsetMs: clockOffsetMs(), emulated: clockOffsetMs() !== 0 });

const limitOf = (c: Context<AppEnv>): number | undefined => {
  const limit = Number(c.req.query('limit'));
  return Number.isInteger(limit) && limit > 0 ? limit : undefined;
};
