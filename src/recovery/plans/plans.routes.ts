/**
 * Recovery (docs/design.md §6, §8): plans that undo an intrusion's tainted actions
 * or replay the history under a patch, applied atomically and revertible.
 */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { PlanView } from './plans.service';

const tags = ['recovery'];

const PlanId = z
  .string()
  .regex(/^rcp_[0-9A-Z]{26}$/)
  .openapi({ example: 'rcp_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const PlanParams = TenantParams.extend({ plan: PlanId.openapi({ param: { name: 'plan', in: 'path' } }) });
const Instant = z.iso.datetime({ offset: true });
const PrincipalId = z.string().min(1).max(64);

const Seeds = z
  .strictObject({
    actors: z.array(PrincipalId).max(100).optional().openapi({ description: 'Principals (toolstack, owner or admin ids) whose actions are the attack.' }),
    tokens: z
      .array(z.string().min(1).max(128))
      .max(1000)
      .optional()
      .openapi({ description: "Whole sessions: a token's `sid` claim (shared by the tokens of one client session), or the `jti` of a token without one." }),
    actions: z.array(z.number().int().min(0)).max(10_000).optional().openapi({ description: 'Audit indexes of single actions.' }),
    from: Instant.optional().openapi({ description: 'Only actions at or after this instant.' }),
    to: Instant.optional().openapi({ description: 'Only actions before this instant.' }),
  })
  .refine((s) => (s.actors?.length ?? 0) + (s.tokens?.length ?? 0) + (s.actions?.length ?? 0) > 0, 'name at least one actor, token or action')
  .openapi('RecoverySeeds');
const Patch = z
  .strictObject({
    revoke: z
      .array(z.strictObject({ principal: PrincipalId, from: Instant }))
      .min(1)
      .max(100),
  })
  .openapi('RecoveryPatch', { description: 'Each principal is treated as revoked from its instant on.' });
const CreatePlanBody = z
  .discriminatedUnion('mode', [z.strictObject({ mode: z.literal('undo'), seeds: Seeds }), z.strictObject({ mode: z.literal('replay'), patch: Patch })])
  .openapi('CreateRecoveryPlan');

const Space = z.enum(['memory', 'disk']);
const ObjectImage = z.record(z.string(), z.unknown()).openapi({ type: 'object', additionalProperties: true });
const VersionRef = z.object({ space: Space, resource: z.string(), index: z.number().int(), version: z.number().int() }).openapi('VersionRef');
const Change = z
  .object({
    target: z.string().openapi({ description: 'The VM (memory) or disk.' }),
    space: Space,
    index: z.number().int(),
    fromVersion: z.number().int(),
    toVersion: z.number().int().openapi({ description: 'The latest untainted version; 0 = back to unwritten.' }),
  })
  .openapi('RecoveryChange');
const PlanSchema = z
  .object({
    id: PlanId,
    tenant: TenantId,
    mode: z.enum(['undo', 'replay']),
    state: z.enum(['planned', 'applied', 'reverted']),
    request: CreatePlanBody,
    logSize: z.number().int().openapi({ description: "The plan covers records [0, logSize) of the tenant's log." }),
    taintedActions: z.array(z.number().int()).openapi({ description: 'Undo: the tainted actions. Replay: the allowed actions the patch denies.' }),
    changes: z.array(Change).openapi({
      description: 'Per page: the version it goes back to. Pages whose current version is legitimate are absent: later legitimate writes survive.',
    }),
    taintedVersions: z.array(VersionRef).openapi({ description: 'Versions the plan treats as never having existed.' }),
    sessions: z
      .array(z.object({ session: z.string(), from: z.number().int() }))
      .openapi({ description: 'Undo: sessions tainted by reading tainted data, from that read on.' }),
    disclosures: z
      .array(
        z.object({
          auditIndex: z.number().int(),
          time: z.string(),
          actor: z.object({ type: z.enum(['admin', 'tenant', 'toolstack', 'anonymous', 'system']), id: z.string().nullable() }),
          jti: z.string().nullable(),
          pages: z.array(VersionRef),
        }),
      )
      .openapi({ description: 'Undo: what the attack read. Reads cannot be undone: rotate what they exposed.' }),
    conflicts: z
      .array(z.object({ auditIndex: z.number().int(), actor: z.string().nullable(), session: z.string().nullable(), missing: z.array(VersionRef) }))
      .openapi({ description: 'Replay: legitimate actions that read (or copied) data that does not exist under the patch.' }),
    objectChanges: z
      .array(
        z.object({
          object: z.string().openapi({ description: '`<kind>:<key>`.' }),
          kind: z.enum(['toolstack', 'key', 'label', 'disk', 'snapshot', 'vm-power']),
          key: z.array(z.string()),
          from: ObjectImage.nullable().openapi({ description: 'The object now (its row); null: it does not exist.' }),
          to: ObjectImage.nullable().openapi({
            description: 'The object after the plan: as the latest untainted action left it, or as before the first (a toolstack the attack created: revoked).',
          }),
          actions: z.array(z.number().int()).openapi({ description: 'The tainted actions that changed it.' }),
        }),
      )
      .openapi({
        description: 'Undo: tenant objects besides contents that the plan restores — toolstacks, wrapped keys, labels, disks, snapshots, VM power states.',
      }),
    irreversible: z
      .array(z.object({ auditIndex: z.number().int(), action: z.string(), why: z.string() }))
      .openapi({ description: 'Undo: tainted actions whose effects cannot all be undone (reads are `disclosures`).' }),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('RecoveryPlan');
const PlanListSchema = z.object({ plans: z.array(PlanSchema), nextPageToken: nextPageTokenSchema }).openapi('RecoveryPlanList');
const TransitionSchema = z
  .object({ plan: PlanSchema, auditIndex: z.number().int().openapi({ description: "The record of this application (or reversal) in the tenant's log." }) })
  .openapi('RecoveryPlanTransition');

export const createRecoveryPlan = tenantRoute({
  operationId: 'createRecoveryPlan',
  action: 'recovery.plan',
  problems: ['seeds_match_nothing'],
  method: 'post',
  path: '/tenants/{tenant}/recovery/plans',
  tags,
  summary: 'Plan a recovery: undo from seeds, or replay under a patch',
  description:
    'Nothing changes until the plan is applied. `undo` follows the taint from the seeds through the information-flow index (its cost follows the taint, not the history); `replay` re-runs the whole history under the patch.',
  scope: 'recovery',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreatePlanBody) },
  responses: { 201: { ...jsonContent(PlanSchema, 'The plan.'), headers: z.object({ Location: z.string() }) } },
});

export const listRecoveryPlans = tenantRoute({
  operationId: 'listRecoveryPlans',
  action: 'recovery.list',
  method: 'get',
  path: '/tenants/{tenant}/recovery/plans',
  tags,
  summary: 'List recovery plans, newest first',
  scope: 'recovery',
  request: { params: TenantParams, query: PageQuerySchema },
  responses: { 200: jsonContent(PlanListSchema, 'One page of plans.') },
});

export const getRecoveryPlan = tenantRoute({
  operationId: 'getRecoveryPlan',
  action: 'recovery.read',
  method: 'get',
  path: '/tenants/{tenant}/recovery/plans/{plan}',
  tags,
  summary: 'Fetch a recovery plan',
  scope: 'recovery',
  request: { params: PlanParams },
  responses: { 200: jsonContent(PlanSchema, 'The plan.') },
});

export const applyRecoveryPlan = tenantRoute({
  operationId: 'applyRecoveryPlan',
  action: 'recovery.apply',
  problems: ['invalid_state', 'plan_stale'],
  method: 'post',
  path: '/tenants/{tenant}/recovery/plans/{plan}:apply',
  tags,
  summary: 'Apply a plan: every changed page moves back, atomically',
  description: 'Fails with 409 `plan_stale`, changing nothing, if any page the plan changes was written after the plan was made.',
  scope: 'recovery',
  request: { params: PlanParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(TransitionSchema, 'The applied plan.') },
});

export const revertRecoveryPlan = tenantRoute({
  operationId: 'revertRecoveryPlan',
  action: 'recovery.revert',
  problems: ['invalid_state', 'plan_stale'],
  method: 'post',
  path: '/tenants/{tenant}/recovery/plans/{plan}:revert',
  tags,
  summary: 'Undo an applied plan: every page goes back to the version it had before',
  description: 'Fails with 409 `plan_stale`, changing nothing, if any page the plan changed was written since.',
  scope: 'recovery',
  request: { params: PlanParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(TransitionSchema, 'The reverted plan.') },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const planViewMatchesSchema: SameShape<PlanView, typeof PlanSchema> = true;
