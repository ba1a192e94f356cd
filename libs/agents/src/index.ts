export { AgentsModule } from './agents.module';
export { ExtractiveResearchRunner } from './extractive/extractive-research.runner';
export { rankPassages } from './extractive/passage-ranker';
export type { Passage, RankOptions } from './extractive/passage-ranker';
export { reportWording } from './extractive/report-language';
