import { FakeLlmServer } from '../fake-llm/fake-llm.server';
import { FakeLlmFault, FakeLlmInjection } from '../fake-llm/fake-llm.types';

export interface LlmFaultMix {
  /** The share of calls that misbehave, from 0 to 1. */
  share: number;
  /** The faults; each call chosen gets one of them, picked at random. */
  faults: FakeLlmFault[];
  /** How many calls, counted from the fake's start or last reset, the mix covers. */
  calls: number;
  /** The same seed picks the same calls. */
  seed: number;
}

/**
 * Makes a share of the fake LLM's calls fail, chosen at random but reproducibly from the seed:
 * each chosen call gets one of the faults. Returns the injections, to count what was triggered.
 */
export function injectFaultMix(llm: FakeLlmServer, mix: LlmFaultMix): FakeLlmInjection[] {
  const random = mulberry32(mix.seed);
  const injections: FakeLlmInjection[] = [];
  for (let call = 1; call <= mix.calls; call += 1) {
    if (random() >= mix.share) continue;
    const fault = mix.faults[Math.floor(random() * mix.faults.length)] as FakeLlmFault;
    injections.push(llm.inject(fault, { call }));
  }
  return injections;
}

/** A small seeded PRNG: uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
