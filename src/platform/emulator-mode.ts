import type { Env } from '../env';

/** Emulator mode: set by `npm start` and `startCustodes`, never by a deployment (wrangler.toml does not name it). */
export const emulatorEnabled = (env: Pick<Env, 'CUSTODES_EMULATOR'>): boolean => env.CUSTODES_EMULATOR === 'on';
