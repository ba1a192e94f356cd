import { ValidationError } from '@app/common';
import { MAX_SOURCES_LIMIT } from '@app/research';
import { Injectable, PipeTransform } from '@nestjs/common';

/**
 * A source number in a path: an integer from 1 to the most sources a research may have; anything
 * else is a 400. The global pipe has already made the text a number (NaN when it is none).
 */
@Injectable()
export class SourceNumberPipe implements PipeTransform<number | string, number> {
  transform(value: number | string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SOURCES_LIMIT) {
      throw new ValidationError(`"${String(value).slice(0, 64)}" is not a source number`, [
        { field: 'n', message: `n must be an integer from 1 to ${MAX_SOURCES_LIMIT}` },
      ]);
    }
    return n;
  }
}
