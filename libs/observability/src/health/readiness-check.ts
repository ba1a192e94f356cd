/** A dependency the process needs to serve: checked by `/ready`, never by `/health`. */
export abstract class ReadinessCheck {
  abstract readonly name: string;
  /** Resolves when the dependency answers; rejects with a readable reason otherwise. */
  abstract check(signal: AbortSignal): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
