import { appConfig } from '@app/config';
import { LlmModule } from '@app/llm';
import { ResearchRunner } from '@app/research';
import { SearchModule, TextModule } from '@app/search';
import { DynamicModule, Module, Provider, Type } from '@nestjs/common';
import { DeepResearchRunner } from './deep/deep-research.runner';
import { Planner } from './deep/planner.agent';
import { Reader } from './deep/reader.agent';
import { Searcher } from './deep/searcher.agent';
import { Verifier } from './deep/verifier.agent';
import { Writer } from './deep/writer.agent';
import { ExtractiveResearchRunner } from './extractive/extractive-research.runner';

const DEEP_AGENTS: Provider[] = [Planner, Searcher, Reader, Writer, Verifier, DeepResearchRunner];

/**
 * The research engines. With an LLM configured (LLM_BASE_URL) the deep pipeline runs; without
 * one, the extractive engine, which needs no model.
 */
@Module({})
export class AgentsModule {
  static register(): DynamicModule {
    const deep = appConfig().llm !== null;
    return {
      module: AgentsModule,
      imports: [SearchModule, TextModule, ...(deep ? [LlmModule] : [])],
      providers: [ExtractiveResearchRunner, ...(deep ? DEEP_AGENTS : [])],
      // The LLM module goes along so that the worker can follow the endpoint's circuit.
      exports: deep ? [ExtractiveResearchRunner, DeepResearchRunner, LlmModule] : [ExtractiveResearchRunner],
    };
  }
}

/** The engine the worker binds to the ResearchRunner port. */
export function configuredEngine(): Type<ResearchRunner> {
  return appConfig().llm !== null ? DeepResearchRunner : ExtractiveResearchRunner;
}
