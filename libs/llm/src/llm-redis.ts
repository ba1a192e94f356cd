/** The LLM lib's own Redis connection (concurrency slots, response cache), apart from Bull's. */
export const LLM_REDIS = Symbol('LLM_REDIS');
