import { AppConfig, LlmSettings } from '@app/config';

export type { LlmSettings };

/** The LLM settings, or a clear error for a process that wires the LLM without configuring it. */
export function llmSettings(config: AppConfig): LlmSettings {
  if (!config.llm) {
    throw new Error(
      'LlmModule needs an LLM endpoint, but LLM_BASE_URL is not set; import LlmModule only when AppConfig.llm is not null',
    );
  }
  return config.llm;
}

/** The endpoint a base URL points at (host and port): the unit its concurrency limit applies to. */
export function endpointOf(baseUrl: string): string {
  return new URL(baseUrl).host;
}
