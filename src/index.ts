/**
 * The Worker entry point. Everything is assembled in app.ts; this module only
 * exports it in the shape the Workers runtime expects.
 */
import { createApp } from './app';
import type { Env } from './env';
import { finishNotices } from './audit/log/notices';
import { revealDueSeals } from './governance/access-requests/seals';
import { retryDueDeliveries } from './audit/alerts/deliveries';

export { AuditLogSequencer } from './sequencer';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  // The sweep behind every other path that delivers notices (audit/log/notices.ts): a log no one reads still gets its notices.
  // And every alert delivery still failing whose retry is due (audit/alerts/deliveries.ts).
  scheduled: (_controller, env, ctx) => ctx.waitUntil(Promise.all([finishNotices(env), retryDueDeliveries(env), revealDueSeals(env)])),
} satisfies ExportedHandler<Env>;
