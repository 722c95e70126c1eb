/**
 * The Worker entry point. Everything is assembled in app.ts; this module only
 * exports it in the shape the Workers runtime expects.
 */
import { createApp } from './app';
import type { Env } from './env';

export { AuditLogSequencer } from './audit/log/sequencer';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
