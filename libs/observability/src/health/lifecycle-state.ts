import { Injectable } from '@nestjs/common';

/** Whether the process is shutting down: readiness turns false before connections close. */
@Injectable()
export class LifecycleState {
  private stopping = false;

  get shuttingDown(): boolean {
    return this.stopping;
  }

  markShuttingDown(): void {
    this.stopping = true;
  }
}
