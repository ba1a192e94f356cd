import { DomainError } from '@app/common';
import { RequestValidationPipe } from '@app/http';
import { ReviewPlanRequestDto } from './review-plan-request.dto';

const pipe = new RequestValidationPipe();
const validate = (body: unknown) =>
  pipe.transform(body, { type: 'body', metatype: ReviewPlanRequestDto }) as Promise<ReviewPlanRequestDto>;

async function problems(body: unknown): Promise<{ field: string; message: string }[]> {
  try {
    await validate(body);
  } catch (error) {
    return (error as DomainError).details as { field: string; message: string }[];
  }
  throw new Error('expected a validation error');
}

const sub = (question: string, queries: unknown = ['a query']) => ({ question, queries });

describe('ReviewPlanRequestDto', () => {
  it('accepts no body, or an empty one: the plan as it was made', async () => {
    expect(ReviewPlanRequestDto.planOf(await validate({}))).toBeNull();
    expect(ReviewPlanRequestDto.planOf(await validate(undefined))).toBeNull();
    // Anything sent must still be a JSON object.
    for (const body of [null, [], 'text']) {
      expect(await problems(body)).toEqual([{ field: 'body', message: 'the request body must be a JSON object' }]);
    }
  });

  it('trims an edited plan and drops repeated queries', async () => {
    const dto = await validate({
      sub_questions: [sub('  Who supplies HBM?  ', [' HBM suppliers ', 'HBM suppliers', 'SK hynix HBM'])],
    });
    expect(ReviewPlanRequestDto.planOf(dto)).toEqual({
      subQuestions: [{ question: 'Who supplies HBM?', queries: ['HBM suppliers', 'SK hynix HBM'] }],
    });
  });

  it('takes 1 to 6 sub-questions', async () => {
    await expect(validate({ sub_questions: Array.from({ length: 6 }, (_, i) => sub(`q${i}`)) })).resolves.toBeDefined();
    expect(await problems({ sub_questions: [] })).toEqual([
      { field: 'sub_questions', message: 'sub_questions must contain at least 1 elements' },
    ]);
    expect(await problems({ sub_questions: Array.from({ length: 7 }, (_, i) => sub(`q${i}`)) })).toEqual([
      { field: 'sub_questions', message: 'sub_questions must contain no more than 6 elements' },
    ]);
    expect(await problems({ sub_questions: 'all of them' })).toEqual([
      { field: 'sub_questions', message: 'sub_questions must be an array' },
    ]);
  });

  it('names the nested field of each problem: an empty question, an empty query, too many or no queries', async () => {
    expect(
      await problems({
        sub_questions: [sub(' '), sub('q', ['fine', '']), sub('q', ['1', '2', '3', '4']), sub('q', []), sub('q', [42])],
      }),
    ).toEqual([
      { field: 'sub_questions.0.question', message: 'question must be longer than or equal to 1 characters' },
      {
        field: 'sub_questions.1.queries',
        message: 'each value in queries must be longer than or equal to 1 and shorter than or equal to 400 characters',
      },
      { field: 'sub_questions.2.queries', message: 'queries must contain no more than 3 elements' },
      { field: 'sub_questions.3.queries', message: 'queries must contain at least 1 elements' },
      { field: 'sub_questions.4.queries', message: 'each value in queries must be a string' },
    ]);
    expect(await problems({ sub_questions: [sub('q'), { question: 'q', queries: ['x'], extra: true }] })).toEqual([
      { field: 'sub_questions.1.extra', message: 'property extra should not exist' },
    ]);
    expect(await problems({ sub_questions: [sub('q'), 'not an object'] })).toEqual([
      { field: 'sub_questions', message: 'each value in sub_questions must be an object' },
    ]);
  });

  it('bounds the length of a question and of a query', async () => {
    expect(await problems({ sub_questions: [sub('q'.repeat(2001)), sub('q', ['x'.repeat(401)])] })).toEqual([
      { field: 'sub_questions.0.question', message: 'question must be shorter than or equal to 2000 characters' },
      {
        field: 'sub_questions.1.queries',
        message: 'each value in queries must be longer than or equal to 1 and shorter than or equal to 400 characters',
      },
    ]);
  });
});
