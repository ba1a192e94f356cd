import { setFlagsFromString } from 'node:v8';

/**
 * How V8 collects the api's garbage. By default V8 marks the old generation on background
 * threads while JavaScript runs (concurrent marking). With one CPU to share, as the api has in
 * the Kubernetes manifests (a limit of one CPU), those threads take that CPU from the event loop:
 * at a steady 165 POSTs a second, every mark-compact stalled the answers behind it, for up to 66 ms,
 * and they made the api's p99.9. Marked instead in V8's short incremental steps between tasks,
 * the same collections delayed no answer by more than 28 ms (docs/benchmarks.md, "What the api's
 * old-generation collections cost on one CPU").
 *
 * Applied once, at the start of the process, before the heap has grown; V8 reads the flag
 * whenever it starts marking.
 */
export function applyGcSettings({ concurrentMarking }: { concurrentMarking: boolean }): void {
  if (!concurrentMarking) setFlagsFromString('--no-concurrent-marking');
}
