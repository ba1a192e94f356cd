export { LlmClient, noSpending } from './llm-client';
export type {
  JsonSchemaFormat,
  LlmMessage,
  LlmSpending,
  LlmUsage,
  StructuredRequest,
  StructuredResponse,
} from './llm-client';
export { LlmCircuit } from './circuit/llm-circuit';
export type { CircuitState, CircuitView } from './circuit/llm-circuit';
export { LlmError, LlmFailure, LlmOutageError } from './llm.errors';
export { LlmModule } from './llm.module';
export { extractJson, stripThinking } from './structured-reply';
