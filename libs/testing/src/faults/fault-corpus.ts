import { TestStack } from '../test-stack';

/** A few short documents, so every question of the fault scenarios finds evidence. */
const DOCUMENTS = [
  {
    title: 'Lithium battery supply 2024',
    text:
      'Lithium battery supply tightened in 2024 as cell makers expanded capacity. ' +
      'Lithium prices fell late in 2024 after new mines opened. ' +
      'Battery makers reported lower cell costs in the second half of 2024.',
  },
  {
    title: 'HBM memory demand',
    text:
      'HBM memory demand rose in 2024 with AI accelerator shipments. ' +
      'Three suppliers make HBM memory, and their capacity was sold out for 2024. ' +
      'HBM memory stacks DRAM dies on a base die close to the accelerator.',
  },
  {
    title: 'AI accelerator market',
    text:
      'The AI accelerator market grew quickly in 2024, led by data center GPUs. ' +
      'Advanced packaging capacity limited AI accelerator supply during 2024. ' +
      'Cloud providers designed their own AI accelerator chips to lower costs.',
  },
  {
    title: 'Coffee brewing',
    text:
      'Coffee brewing extracts flavour best with water just below boiling. ' +
      'A coarse grind suits coffee brewing in a French press. ' +
      'Fresh beans make coffee brewing more forgiving.',
  },
];

const TOPICS = [
  'lithium battery supply in 2024',
  'HBM memory demand and suppliers',
  'AI accelerator market and supply',
  'coffee brewing grind and water',
];

/** Adds the documents through the api, as a user would. */
export async function addFaultCorpus(stack: TestStack): Promise<void> {
  for (const document of DOCUMENTS) await stack.addDocument(document);
}

/** The nth question of a scenario: the topics in turn, each question different from the others. */
export function faultQuestion(n: number): string {
  return `${TOPICS[n % TOPICS.length]} (question ${n + 1})`;
}
