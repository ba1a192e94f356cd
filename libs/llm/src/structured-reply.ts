import Ajv, { ValidateFunction } from 'ajv';
import { JsonSchemaFormat } from './llm-client';

/** The first line that opens JSON (an object, an array or a code fence) after an unterminated `<think>`. */
const JSON_LINE = /^[ \t]*(?:[{[]|```)/m;
const THINK_BLOCK = /<think>[\s\S]*?<\/think>/gi;
const FENCE_OPENING = /```[\w-]*[ \t]*\r?\n?/;
const MAX_ERRORS = 5;

/**
 * Removes reasoning: every `<think>…</think>` block; text before a closing tag with no opening
 * one (chat templates that open the block in the prompt); and an unterminated `<think>` up to
 * the first line that starts JSON, or entirely when no such line follows.
 */
export function stripThinking(text: string): string {
  let reply = text.replace(THINK_BLOCK, '');
  const close = reply.toLowerCase().lastIndexOf('</think>');
  if (close !== -1) reply = reply.slice(close + '</think>'.length);
  const open = reply.toLowerCase().indexOf('<think>');
  if (open !== -1) {
    const rest = reply.slice(open + '<think>'.length);
    const json = JSON_LINE.exec(rest);
    reply = reply.slice(0, open) + (json ? rest.slice(json.index) : '');
  }
  return reply.trim();
}

/**
 * The JSON text of a reply: reasoning removed, and the inside of a Markdown code fence when the
 * reply is not bare JSON. The fence closes at the last ``` of the reply, since the JSON itself may
 * hold fenced Markdown.
 */
export function extractJson(text: string): string {
  const reply = stripThinking(text);
  if (/^[{[]/.test(reply)) return reply;
  const opening = FENCE_OPENING.exec(reply);
  if (!opening) return reply;
  const start = opening.index + opening[0].length;
  const close = reply.lastIndexOf('```');
  return (close >= start ? reply.slice(start, close) : reply.slice(start)).trim();
}

export type ParsedReply<T> = { valid: true; value: T } | { valid: false; error: string };

/** Compiled schemas kept: schemas built per call (finding ids as an enum) must not pile up. */
const COMPILED_LIMIT = 500;

/** Validates replies against their schemas, compiling each distinct schema once while it is in use. */
export class ReplyValidator {
  // Formats are not checked: strict structured outputs do not guarantee them, and ajv would need a plugin.
  private readonly ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false });
  /** By the schema's content, least recently used first; with the schema ajv keeps it under. */
  private readonly compiled = new Map<string, { validate: ValidateFunction; schema: object }>();

  /** Parses a raw reply and checks it against the schema; the error says what is wrong, for a repair. */
  parse<T>(text: string, format: JsonSchemaFormat): ParsedReply<T> {
    const json = extractJson(text);
    if (json === '') return { valid: false, error: 'the reply holds no JSON' };
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      return { valid: false, error: `the reply is not valid JSON (${(error as Error).message})` };
    }
    const validate = this.validatorFor(format);
    if (validate(value)) return { valid: true, value: value as T };
    const errors = (validate.errors ?? []).slice(0, MAX_ERRORS);
    const problems = this.ajv.errorsText(errors, { dataVar: 'reply', separator: '; ' });
    return { valid: false, error: `the reply does not match the ${format.name} schema: ${problems}` };
  }

  /** The compiled schema; a schema that is not valid JSON Schema throws here, a programming error. */
  validatorFor(format: JsonSchemaFormat): ValidateFunction {
    // Keyed by content: callers may build an equal schema object for every call.
    const key = JSON.stringify(format.schema);
    let entry = this.compiled.get(key);
    if (entry) {
      // The most recently used last: the least recently used goes first.
      this.compiled.delete(key);
    } else {
      entry = { validate: this.ajv.compile(format.schema), schema: format.schema };
      if (this.compiled.size >= COMPILED_LIMIT) {
        const [oldest, dropped] = this.compiled.entries().next().value as [string, { schema: object }];
        this.compiled.delete(oldest);
        this.ajv.removeSchema(dropped.schema);
      }
    }
    this.compiled.set(key, entry);
    return entry.validate;
  }
}
