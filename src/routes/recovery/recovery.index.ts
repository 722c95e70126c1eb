import { createRouter } from '../../http/router';
import * as handlers from './recovery.handlers';
import * as routes from './recovery.routes';

export const recoveryRouter = createRouter()
  .openapi(routes.createRecoveryPlan, handlers.createRecoveryPlan)
  .openapi(routes.listRecoveryPlans, handlers.listRecoveryPlans)
  .openapi(routes.getRecoveryPlan, handlers.getRecoveryPlan)
  .openapi(routes.applyRecoveryPlan, handlers.applyRecoveryPlan)
  .openapi(routes.revertRecoveryPlan, handlers.revertRecoveryPlan);
