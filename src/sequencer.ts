/**
 * The log's sequencer as the Worker deploys it: the thin Durable Object
 * (audit/log/sequencer.ts) with the features that commit something in every
 * record's batch (audit/log/extensions.ts) — the notice outbox, the
 * information-flow index, sealed records — and those that react after a
 * commit — tenant alerts. The one place that knows them all.
 */
import { installAfterCommit, installRecordStatements } from './audit/log/extensions';
import { tenantAlertsHook } from './audit/alerts/deliveries';
import { noticeOutboxStatements } from './audit/log/notices';
import { flowStatements } from './recovery/taint/flow-statements';
import { sealStatements } from './governance/access-requests/seal-statements';

installRecordStatements(noticeOutboxStatements, sealStatements, flowStatements);
installAfterCommit(tenantAlertsHook);

export { AuditLogSequencer } from './audit/log/sequencer';
