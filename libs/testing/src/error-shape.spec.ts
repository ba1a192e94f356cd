import { errorShapeProblem } from './error-shape';

describe('errorShapeProblem', () => {
  const error = (fields: Record<string, unknown>) => ({
    error: { code: 'not_found', message: 'gone', ...fields },
    request_id: 'r1',
  });

  it('accepts the common shape', () => {
    expect(errorShapeProblem(error({ details: { id: 'x' } }))).toBeUndefined();
    expect(errorShapeProblem(error({ details: {} }))).toBeUndefined();
    expect(
      errorShapeProblem({
        error: { code: 'validation_failed', message: 'bad', details: [{ field: 'q', message: 'q is bad' }] },
        request_id: 'r1',
      }),
    ).toBeUndefined();
  });

  it.each([
    ['no details', error({}), 'details of not_found are not an object'],
    [
      'details as a list outside validation',
      error({ details: [{ field: 'a', message: 'b' }] }),
      'details of not_found are not an object',
    ],
    [
      'validation details as an object',
      { error: { code: 'validation_failed', message: 'bad', details: { field: 'q' } }, request_id: 'r1' },
      'validation details are not a list',
    ],
    [
      'a validation detail with more keys',
      {
        error: { code: 'validation_failed', message: 'bad', details: [{ field: 'q', message: 'm', value: 1 }] },
        request_id: 'r1',
      },
      'a validation detail is not {field, message}: {"field":"q","message":"m","value":1}',
    ],
    ['a stack trace', error({ details: { cause: 'Error: boom\n    at query (db.js:1:1)' } }), 'a stack trace'],
    ['another key', { ...error({ details: {} }), statusCode: 404 }, 'unexpected keys statusCode'],
    ['no request id', { error: { code: 'x', message: 'y', details: {} } }, 'no request_id'],
  ])('refuses %s', (_, body, problem) => {
    expect(errorShapeProblem(body)).toBe(problem);
  });
});
