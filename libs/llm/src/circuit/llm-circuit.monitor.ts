import { randomUUID } from 'node:crypto';
import { AppConfig } from '@app/config';
import { Metric } from '@app/observability';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { llmSettings } from '../llm-settings';
import { OpenAiLlmClient } from '../openai/openai-llm.client';
import { CircuitView, LlmCircuit } from './llm-circuit';

const POLL_MS = 1000;

/**
 * Keeps this process's view of the circuit current, exports it as metrics, and while the
 * circuit is half open lets one worker at a time probe the endpoint: an answer closes the
 * circuit for everyone, a failure opens it again for longer.
 */
@Injectable()
export class LlmCircuitMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('LlmCircuit');
  private readonly owner = randomUUID();
  private readonly probeTimeoutMs: number;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> | undefined;

  constructor(
    private readonly circuit: LlmCircuit,
    private readonly client: OpenAiLlmClient,
    config: AppConfig,
    @InjectMetric(Metric.LlmCircuitOpen) private readonly open: Gauge<string>,
    @InjectMetric(Metric.LlmOutage) private readonly outage: Gauge<string>,
  ) {
    const settings = llmSettings(config);
    this.probeTimeoutMs = Math.min(settings.timeoutMs, 30_000);
    this.pollMs = Math.min(POLL_MS, settings.circuit.cooldownMs);
    circuit.onChange((view) => this.export(view));
  }

  onApplicationBootstrap(): void {
    this.export(this.circuit.view);
    this.timer = setInterval(() => {
      this.tick ??= this.check().finally(() => (this.tick = undefined));
    }, this.pollMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.tick;
  }

  /** One refresh, and a probe when one is due and this worker wins it. */
  async check(): Promise<void> {
    const view = await this.circuit.refresh();
    this.export(view);
    if (view.state !== 'half_open') return;
    if (!(await this.circuit.takeProbe(this.owner, this.probeTimeoutMs + this.pollMs))) return;
    const started = performance.now();
    try {
      await this.client.probe(this.probeTimeoutMs);
      this.logger.log({ endpoint: this.circuit.endpoint, duration: seconds(started) }, 'llm probe answered');
      await this.circuit.recordSuccess();
    } catch (error) {
      this.logger.warn(
        { endpoint: this.circuit.endpoint, duration: seconds(started), error: (error as Error).message },
        'llm probe failed; the circuit stays open',
      );
      await this.circuit.recordFailure();
    } finally {
      await this.circuit.releaseProbe(this.owner);
    }
  }

  private export(view: CircuitView): void {
    const labels = { endpoint: this.circuit.endpoint };
    this.open.set(labels, view.state === 'closed' ? 0 : 1);
    this.outage.set(labels, view.outageMs / 1000);
  }
}

function seconds(since: number): number {
  return Math.round(performance.now() - since) / 1000;
}
