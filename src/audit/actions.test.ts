/**
 * The table of audited actions and the routes agree: every route records an
 * action from the table (the route factories' types insist), and every entry
 * of the table is recorded by some route or, for the few the logs write
 * themselves, by the module named beside it in actions.ts.
 */
import { describe, expect, it } from 'vitest';
import { createApp, openApiDocument } from '../app';
import { AUDITED_ACTIONS } from './actions';

/** Actions no route declares: written by the audit machinery itself. */
const RECORDED_WITHOUT_A_ROUTE = ['route.unknown', 'audit.key.activate', 'audit.refusals.summarize', 'deployment.statement', 'access.sealed', 'access.reveal'];
/** The emulator's controls (src/emulator/controls.ts): not part of the documented API, which a deployment serves. */
const EMULATOR_CONTROLS = ['emulator.reset', 'emulator.seed', 'emulator.faults.set', 'emulator.clock.set', 'emulator.recorder.clear', 'emulator.state.import'];

describe('audited actions', () => {
  it("are exactly those the routes declare, plus the logs' own", () => {
    const declared = new Set<string>();
    for (const item of Object.values(openApiDocument(createApp()).paths ?? {})) {
      for (const operation of Object.values(item as Record<string, { description?: string }>)) {
        const match = operation.description?.match(/Audited as `([a-z.]+)`/);
        if (match) declared.add(match[1]!);
      }
    }
    expect(new Set(AUDITED_ACTIONS)).toEqual(new Set([...declared, ...RECORDED_WITHOUT_A_ROUTE, ...EMULATOR_CONTROLS]));
    expect(new Set(AUDITED_ACTIONS).size).toBe(AUDITED_ACTIONS.length);
  });
});
