import { JsonSchemaFormat, LlmClient, LlmMessage, StructuredResponse } from '@app/llm';
import { UsageEntry } from '@app/research';
import { BudgetTracker } from './budget';

export interface ModelCall {
  tenantId: string;
  stage: string;
  /** The share (0..1) of every limit the stage may have spent before this call is refused. */
  share: number;
  messages: LlmMessage[];
  schema: JsonSchemaFormat;
  /** Completion tokens: at most `maxTokens`, within what the budget has left, and never fewer than `minTokens`. */
  maxTokens: number;
  minTokens: number;
  temperature: number;
  signal: AbortSignal;
}

/**
 * One LLM completion of an agent within the research's budget: refused once the stage's share
 * is spent, its completion bounded by the tokens left, and every HTTP call it makes counted in
 * the ledger, whether it returns or fails. Answers the reply and what it spent.
 */
export async function askModel<T>(
  llm: LlmClient,
  budget: BudgetTracker,
  call: ModelCall,
): Promise<{ response: StructuredResponse<T>; usage: UsageEntry }> {
  const { value, usage } = await budget.spend(call.stage, call.share, (spending) =>
    llm.complete<T>({
      tenantId: call.tenantId,
      stage: call.stage,
      messages: call.messages,
      schema: call.schema,
      maxTokens: Math.min(call.maxTokens, Math.max(call.minTokens, budget.remainingTokens())),
      temperature: call.temperature,
      signal: call.signal,
      spending,
    }),
  );
  return { response: value, usage };
}
