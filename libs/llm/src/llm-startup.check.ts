import { AppConfig } from '@app/config';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { endpointOf, llmSettings } from './llm-settings';
import { OpenAiLlmClient } from './openai/openai-llm.client';

const CHECK_TIMEOUT_MS = 5_000;
const MODELS_LOGGED = 50;

/**
 * Says at start-up whether the LLM endpoint answers and serves the configured models, so that a
 * wrong URL, key or model name shows in the first lines of the log rather than at the first research.
 */
@Injectable()
export class LlmStartupCheck implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('LlmClient');
  private readonly stopped = new AbortController();

  constructor(
    private readonly config: AppConfig,
    private readonly client: OpenAiLlmClient,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: a slow or absent endpoint must not hold the process back.
    void this.check();
  }

  onApplicationShutdown(): void {
    this.stopped.abort();
  }

  /** Lists the endpoint's models and logs the outcome. Never throws. */
  async check(): Promise<void> {
    const settings = llmSettings(this.config);
    const endpoint = endpointOf(settings.baseUrl);
    let served: string[];
    try {
      served = await this.client.listModels(CHECK_TIMEOUT_MS, this.stopped.signal);
    } catch (error) {
      if (this.stopped.signal.aborted) return;
      this.logger.warn({ endpoint, error: (error as Error).message }, 'llm endpoint did not list its models');
      return;
    }
    const available = new Set(served);
    const configured = [
      { stage: 'default', model: settings.model },
      ...Object.entries(settings.stageModels).map(([stage, model]) => ({ stage, model })),
    ].map((entry) => ({ ...entry, available: available.has(entry.model) }));
    const fields = { endpoint, models: served.slice(0, MODELS_LOGGED), models_count: served.length, configured };
    if (configured.every((entry) => entry.available)) {
      this.logger.log(fields, 'llm endpoint serves the configured models');
    } else {
      // Some servers (Azure deployments, proxies) do not list every model they serve: a hint, not a failure.
      this.logger.warn(fields, 'llm endpoint does not list some configured models');
    }
  }
}
