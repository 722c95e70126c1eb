import { createRouter } from '../../platform/http/router';
import * as handlers from './plans.handlers';
import * as routes from './plans.routes';

export const recoveryRouter = createRouter()
  .openapi(routes.createRecoveryPlan, handlers.createRecoveryPlan)
  .openapi(routes.listRecoveryPlans, handlers.listRecoveryPlans)
  .openapi(routes.getRecoveryPlan, handlers.getRecoveryPlan)
  .openapi(routes.applyRecoveryPlan, handlers.applyRecoveryPlan)
  .openapi(routes.revertRecoveryPlan, handlers.revertRecoveryPlan);
