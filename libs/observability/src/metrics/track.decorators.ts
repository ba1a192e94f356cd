import { AddRouteConfig } from '@app/common';
import { Counter, Histogram, register } from 'prom-client';
import { Metric } from './metric-definitions';

/**
 * Names the `endpoint` label of a route's request metrics, like the chapter's
 * `@track_request("/api/v1/research")`. Without it the route template is used.
 */
export const TrackRequest = (endpoint: string): MethodDecorator => AddRouteConfig({ metricsEndpoint: endpoint });

/**
 * A route that answers with a stream open for minutes (Server-Sent Events): it is counted in
 * `research_requests_total` and in flight, but its length is not a latency, so it stays out of
 * `research_request_duration_seconds`.
 */
export const StreamingRoute = (): MethodDecorator => AddRouteConfig({ metricsStream: true });

function metric<T>(name: string): T | undefined {
  return register.getSingleMetric(name) as T | undefined;
}

type AsyncMethod = (...args: unknown[]) => Promise<unknown>;

function wrapAsync(
  descriptor: PropertyDescriptor,
  around: (call: () => Promise<unknown>, args: unknown[]) => Promise<unknown>,
) {
  const original = descriptor.value as AsyncMethod;
  descriptor.value = function (this: unknown, ...args: unknown[]) {
    return around(() => original.apply(this, args), args);
  };
}

/** Errors that mean "stopped on purpose" (cancelled, shutting down, waiting for a plan review), not "failed". */
function isStop(error: unknown): boolean {
  return (
    error instanceof Error && ['ResearchStoppedError', 'AbortError', 'PlanReviewRequiredError'].includes(error.name)
  );
}

/**
 * Counts and times an agent step (`research_tasks_total`, `research_task_duration_seconds`),
 * like the chapter's `@track_research_task("coordinator")`. Works on async methods.
 */
export function TrackResearchTask(agent: string): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    wrapAsync(descriptor, async (call) => {
      const end = metric<Histogram<string>>(Metric.TaskDuration)?.startTimer({ agent });
      let outcome = 'success';
      try {
        return await call();
      } catch (error) {
        outcome = isStop(error) ? 'stopped' : 'error';
        throw error;
      } finally {
        end?.({ outcome });
        metric<Counter<string>>(Metric.Tasks)?.inc({ agent, outcome });
      }
    });
    return descriptor;
  };
}

export interface LlmUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

/**
 * Counts, times and meters an LLM call (`llm_calls_total`, `llm_call_duration_seconds`,
 * `llm_tokens_total`), like the chapter's `@track_llm_call("qwen-72b")`. The model is fixed, or
 * read from the call's arguments; tokens are read from the `usage` of the result when it has one.
 */
export function TrackLlmCall(model: string | ((...args: unknown[]) => string)): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    wrapAsync(descriptor, async (call, args) => {
      const name = typeof model === 'string' ? model : model(...args);
      const end = metric<Histogram<string>>(Metric.LlmCallDuration)?.startTimer({ model: name });
      let status = 'success';
      try {
        const result = await call();
        const usage = (result as { usage?: LlmUsage } | undefined)?.usage;
        const tokens = metric<Counter<string>>(Metric.LlmTokens);
        if (usage?.prompt_tokens) tokens?.inc({ model: name, type: 'prompt' }, usage.prompt_tokens);
        if (usage?.completion_tokens) tokens?.inc({ model: name, type: 'completion' }, usage.completion_tokens);
        return result;
      } catch (error) {
        status = 'error';
        throw error;
      } finally {
        end?.();
        metric<Counter<string>>(Metric.LlmCalls)?.inc({ model: name, status });
      }
    });
    return descriptor;
  };
}
