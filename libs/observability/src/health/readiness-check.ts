/** A dependency the process needs to serve: checked by `/ready`, never by `/health`. */
export abstract class ReadinessCheck {
  abstract readonly name: string;
  /**
   * A dependency the process serves without, less well (a web search engine): when it fails,
   * `/ready` still answers 200 and shows the reason as a warning.
   */
  readonly optional: boolean = false;
  /** Resolves when the dependency answers; rejects with a readable reason otherwise. */
  abstract check(signal: AbortSignal): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
