import { DomainError } from '@app/common';
import { RequestValidationPipe } from '@app/http';
import { CreateResearchRequestDto } from './create-research-request.dto';

const pipe = new RequestValidationPipe();
const validate = (body: unknown) =>
  pipe.transform(body, { type: 'body', metatype: CreateResearchRequestDto }) as Promise<CreateResearchRequestDto>;

async function problems(body: unknown): Promise<{ field: string; message: string }[]> {
  try {
    await validate(body);
  } catch (error) {
    return (error as DomainError).details as { field: string; message: string }[];
  }
  throw new Error('expected a validation error');
}

describe('CreateResearchRequestDto', () => {
  it('fills the defaults and trims the question', async () => {
    const dto = await validate({ question: '  What changed in 2024?  ' });
    expect({ ...dto }).toEqual({
      question: 'What changed in 2024?',
      max_sources: 10,
      verify: true,
      language: 'en',
      review_plan: false,
    });
  });

  it('keeps the values given and canonicalises the language tag', async () => {
    const dto = await validate({
      question: 'q',
      max_sources: 50,
      verify: false,
      language: 'ZH-hant-tw',
      review_plan: true,
    });
    expect({ ...dto }).toEqual({
      question: 'q',
      max_sources: 50,
      verify: false,
      language: 'zh-Hant-TW',
      review_plan: true,
    });
  });

  it('counts characters, not UTF-16 units, against the 2000 limit', async () => {
    await expect(validate({ question: '😀'.repeat(2000) })).resolves.toBeDefined();
    expect(await problems({ question: '😀'.repeat(2001) })).toEqual([
      { field: 'question', message: 'question must be shorter than or equal to 2000 characters' },
    ]);
  });

  it('names every invalid field, with the first broken rule of each', async () => {
    expect(
      await problems({
        question: ' ',
        max_sources: '3',
        verify: 'yes',
        language: 'english!',
        review_plan: 'please',
        extra: 1,
      }),
    ).toEqual([
      { field: 'extra', message: 'property extra should not exist' },
      { field: 'question', message: 'question must be longer than or equal to 1 characters' },
      { field: 'max_sources', message: 'max_sources must be an integer number' },
      { field: 'verify', message: 'verify must be a boolean value' },
      { field: 'language', message: 'language must be a BCP-47 language tag such as "en" or "zh-TW"' },
      { field: 'review_plan', message: 'review_plan must be a boolean value' },
    ]);
  });

  it('refuses bodies that are not JSON objects', async () => {
    for (const body of [null, [], 'text', 42, undefined]) {
      expect(await problems(body)).toEqual([{ field: 'body', message: 'the request body must be a JSON object' }]);
    }
  });
});
