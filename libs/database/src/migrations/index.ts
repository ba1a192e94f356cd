import { CreateResearches1795597200000 } from './1795597200000-CreateResearches';
import { CreateDocuments1795597260000 } from './1795597260000-CreateDocuments';

/** Every migration, oldest first. Add new ones at the end. */
export const MIGRATIONS = [CreateResearches1795597200000, CreateDocuments1795597260000];
