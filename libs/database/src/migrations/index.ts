import { CreateResearches1795597200000 } from './1795597200000-CreateResearches';
import { CreateDocuments1795597260000 } from './1795597260000-CreateDocuments';
import { CreateResearchStepsAndSources1795597320000 } from './1795597320000-CreateResearchStepsAndSources';
import { AddResearchRunAccounting1795597380000 } from './1795597380000-AddResearchRunAccounting';
import { CreateTenantsAndApiKeys1795597440000 } from './1795597440000-CreateTenantsAndApiKeys';
import { CreateAuditTrail1795597500000 } from './1795597500000-CreateAuditTrail';
import { AddSourceSnapshots1795597560000 } from './1795597560000-AddSourceSnapshots';
import { CreateDocumentPassages1795597620000 } from './1795597620000-CreateDocumentPassages';
import { NotifyResearchEvents1795597680000 } from './1795597680000-NotifyResearchEvents';
import { AddResearchProgress1795597740000 } from './1795597740000-AddResearchProgress';
import { StoreSourceLength1795597800000 } from './1795597800000-StoreSourceLength';
import { IndexIngestedPaths1795597860000 } from './1795597860000-IndexIngestedPaths';
import { AddPlanReview1795597920000 } from './1795597920000-AddPlanReview';
import { CreateWebhookDeliveries1795597980000 } from './1795597980000-CreateWebhookDeliveries';
import { CountSourceLengthFaster1795598040000 } from './1795598040000-CountSourceLengthFaster';

/** Every migration, oldest first. Add new ones at the end. */
export const MIGRATIONS = [
  CreateResearches1795597200000,
  CreateDocuments1795597260000,
  CreateResearchStepsAndSources1795597320000,
  AddResearchRunAccounting1795597380000,
  CreateTenantsAndApiKeys1795597440000,
  CreateAuditTrail1795597500000,
  AddSourceSnapshots1795597560000,
  CreateDocumentPassages1795597620000,
  NotifyResearchEvents1795597680000,
  AddResearchProgress1795597740000,
  StoreSourceLength1795597800000,
  IndexIngestedPaths1795597860000,
  AddPlanReview1795597920000,
  CreateWebhookDeliveries1795597980000,
  CountSourceLengthFaster1795598040000,
];
