/**
 * One timer that runs `fire` at the earliest of the times asked for: asking for a later time
 * while one is set changes nothing, asking for a sooner one moves it. It never keeps a process
 * alive: what it would have done is the owner's shutdown's to do.
 */
export class EarliestTimer {
  private timer: { handle: NodeJS.Timeout; due: number } | undefined;

  constructor(private readonly fire: () => void) {}

  /** Whether a time is set. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** `fire` in `delayMs` at the latest. */
  within(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.timer) {
      if (this.timer.due <= due) return;
      clearTimeout(this.timer.handle);
    }
    const handle = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, delayMs);
    handle.unref();
    this.timer = { handle, due };
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer.handle);
    this.timer = undefined;
  }
}
