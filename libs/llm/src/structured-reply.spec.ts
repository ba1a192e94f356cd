import { JsonSchemaFormat } from './llm-client';
import { ReplyValidator, extractJson, stripThinking } from './structured-reply';

const ANSWER: JsonSchemaFormat = {
  name: 'answer',
  schema: {
    type: 'object',
    properties: { answer: { type: 'string' }, confidence: { type: 'number' } },
    required: ['answer', 'confidence'],
    additionalProperties: false,
  },
};

describe('stripThinking', () => {
  it('removes every <think> block, across lines', () => {
    const reply = '<think>\nfirst {"answer": "no"}\n</think>\n{"answer": <think>second</think>"yes"}';
    expect(stripThinking(reply)).toBe('{"answer": "yes"}');
  });

  it('drops an unterminated leading <think> up to the line where the JSON starts', () => {
    const reply = '<think>\nThe user wants {an answer}.\nI will reply.\n{"answer": "yes"}';
    expect(stripThinking(reply)).toBe('{"answer": "yes"}');
  });

  it('drops an unterminated <think> entirely when no JSON follows', () => {
    expect(stripThinking('<think>\nstill thinking when the tokens ran out')).toBe('');
  });

  it('drops the reasoning before a closing tag whose opening tag was in the prompt', () => {
    expect(stripThinking('reasoning here\n</think>\n\n{"answer": "yes"}')).toBe('{"answer": "yes"}');
  });

  it('leaves a reply without reasoning as it is, but trimmed', () => {
    expect(stripThinking('  {"answer": "yes"}\n')).toBe('{"answer": "yes"}');
  });
});

describe('extractJson', () => {
  it('takes the inside of a ```json fence', () => {
    expect(extractJson('```json\n{"answer": "yes"}\n```')).toBe('{"answer": "yes"}');
  });

  it('takes the fence after prose, and after reasoning', () => {
    expect(extractJson('<think>hm</think>Here it is:\n```\n[1, 2]\n```\nDone.')).toBe('[1, 2]');
  });

  it('closes the fence at the last ```, since the JSON may hold fenced Markdown', () => {
    const json = JSON.stringify({ report: 'Code:\n```js\nx()\n```\n' });
    expect(extractJson('```json\n' + json + '\n```')).toBe(json);
  });

  it('leaves bare JSON that holds a fence untouched', () => {
    const json = JSON.stringify({ report: 'see ```js\nx()\n```' });
    expect(extractJson(json)).toBe(json);
  });
});

describe('ReplyValidator', () => {
  it('keeps a bounded number of compiled schemas when every call builds its own (an enum of ids)', () => {
    const validator = new ReplyValidator();
    const idsFormat = (n: number): JsonSchemaFormat => ({
      name: 'ids',
      schema: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: { id: { type: 'string', enum: [`F${n}`] } },
      },
    });
    for (let n = 0; n < 1200; n += 1) {
      expect(validator.parse(`{"id":"F${n}"}`, idsFormat(n)).valid).toBe(true);
      expect(validator.parse(`{"id":"F${n + 1}"}`, idsFormat(n)).valid).toBe(false);
    }
    const compiled = (validator as unknown as { compiled: Map<string, unknown> }).compiled;
    expect(compiled.size).toBeLessThanOrEqual(500);
    // The first schemas were let go and still validate when they come back.
    expect(validator.parse('{"id":"F0"}', idsFormat(0)).valid).toBe(true);
  });

  it('returns the parsed value of a valid reply', () => {
    const parsed = new ReplyValidator().parse('<think>x</think>{"answer":"yes","confidence":0.5}', ANSWER);
    expect(parsed).toEqual({ valid: true, value: { answer: 'yes', confidence: 0.5 } });
  });

  it('names the parse error of a reply that is not JSON', () => {
    const parsed = new ReplyValidator().parse('{"answer": yes}', ANSWER);
    expect(parsed.valid).toBe(false);
    expect(!parsed.valid && parsed.error).toMatch(/^the reply is not valid JSON \(.+\)$/);
  });

  it('names every schema violation, with its path', () => {
    const parsed = new ReplyValidator().parse('{"answer": 42, "extra": true}', ANSWER);
    expect(!parsed.valid && parsed.error).toBe(
      "the reply does not match the answer schema: reply must have required property 'confidence'; " +
        'reply must NOT have additional properties; reply/answer must be string',
    );
  });

  it('says when a reply holds no JSON at all', () => {
    expect(new ReplyValidator().parse('<think>only thoughts</think>', ANSWER)).toEqual({
      valid: false,
      error: 'the reply holds no JSON',
    });
  });

  it('compiles a schema once, even when it comes as a new but equal object', () => {
    const validator = new ReplyValidator();
    const first = validator.validatorFor(ANSWER);
    const again = validator.validatorFor({ name: 'answer', schema: JSON.parse(JSON.stringify(ANSWER.schema)) });
    const other = validator.validatorFor({ name: 'other', schema: { type: 'array' } });
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it('accepts the keywords of strict structured outputs that it does not check', () => {
    const format: JsonSchemaFormat = {
      name: 'dated',
      schema: {
        type: 'object',
        properties: { when: { type: 'string', format: 'date-time', description: 'ISO date' } },
        required: ['when'],
        additionalProperties: false,
      },
    };
    expect(new ReplyValidator().parse('{"when": "yesterday"}', format)).toEqual({
      valid: true,
      value: { when: 'yesterday' },
    });
  });
});
