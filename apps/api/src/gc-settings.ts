import { setFlagsFromString } from 'node:v8';

export interface GcSettings {
  /** `API_CONCURRENT_MARKING`: V8 marks on background threads while JavaScript runs. */
  concurrentMarking: boolean;
  /** `API_PRETENURING`: V8 allocates from sites it judges long-lived in the old generation. */
  pretenuring: boolean;
}

/**
 * How V8 collects the api's garbage.
 *
 * Concurrent marking: by default V8 marks the old generation on background threads while
 * JavaScript runs. With one CPU to share, as the api has in the Kubernetes manifests (a limit of
 * one CPU), those threads take that CPU from the event loop: at a steady 165 POSTs a second,
 * every mark-compact stalled the answers behind it, for up to 66 ms, and they made the api's
 * p99.9. Marked instead in V8's short incremental steps between tasks, the same collections
 * delayed no answer by more than 28 ms (docs/benchmarks.md, "What the api's old-generation
 * collections cost on one CPU").
 *
 * Pretenuring: V8 counts, per allocation site (an object or array literal in the code), how many
 * of its objects survive a scavenge, and once nearly all do, optimised code allocates that
 * site's objects straight in the old generation. Sites the api runs while it starts, when nearly
 * everything survives, can be judged so; when such a site also runs for each request, each
 * request leaves an object in the old generation that points at the rest of the request. The
 * scavenger keeps whatever an old object points at, dead or not, so every request's objects were
 * copied and then promoted, and only a mark-compact freed them. At a steady 165 POSTs a second,
 * on one CPU: 1.6 MB promoted a second and 12 mark-compacts in 90 s with it, 0.37 MB/s and none
 * without it (docs/benchmarks.md, "Pretenuring: what kept every request in the old generation").
 * A request's objects live for milliseconds; none is worth allocating old.
 *
 * Applied once, in bootstrap before the server listens. V8 reads both flags while the process
 * runs: set then, each had the effect it has on the command line (test/gc-settings.e2e-spec.ts).
 */
export function applyGcSettings({ concurrentMarking, pretenuring }: GcSettings): void {
  if (!concurrentMarking) setFlagsFromString('--no-concurrent-marking');
  if (!pretenuring) setFlagsFromString('--no-allocation-site-pretenuring');
}
