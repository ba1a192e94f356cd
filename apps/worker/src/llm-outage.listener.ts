import { CircuitView, LlmCircuit } from '@app/llm';
import { ResearchIntake } from '@app/research';
import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

/**
 * While the LLM endpoint's circuit is open this worker takes no new research: the jobs wait in
 * the queue with their attempts untouched, and the runs in progress hand their research back
 * at their next LLM call. Work resumes when the circuit closes, or when the outage has lasted
 * too long to keep holding it.
 */
@Injectable()
export class LlmOutageListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly circuit: LlmCircuit,
    private readonly intake: ResearchIntake,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.circuit.onChange((view) => void this.follow(view));
    void this.follow(this.circuit.view);
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }

  private async follow(view: CircuitView): Promise<void> {
    if (view.state === 'open' || view.state === 'half_open') await this.intake.hold('llm_unavailable');
    else await this.intake.release('llm_unavailable');
  }
}
