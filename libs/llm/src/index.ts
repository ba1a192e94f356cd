export { LlmClient } from './llm-client';
export type { JsonSchemaFormat, LlmMessage, LlmUsage, StructuredRequest, StructuredResponse } from './llm-client';
export { LlmError, LlmFailure } from './llm.errors';
export { LlmModule } from './llm.module';
export { extractJson, stripThinking } from './structured-reply';
