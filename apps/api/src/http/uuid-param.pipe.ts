import { ValidationError } from '@app/common';
import { Injectable, PipeTransform } from '@nestjs/common';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path ids are UUIDs; anything else is a 400, not a database error. */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) {
      throw new ValidationError(`"${value.slice(0, 64)}" is not a valid id`, [
        { field: 'id', message: 'id must be a UUID' },
      ]);
    }
    return value.toLowerCase();
  }
}
