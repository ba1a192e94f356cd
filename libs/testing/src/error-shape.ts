/**
 * Why `body` is not an error in the common shape, or undefined when it is:
 * `{"error": {"code", "message", "details"}, "request_id"}` and nothing else, `details` a list of
 * `{field, message}` for `validation_failed` and an object for every other code, and no stack
 * trace anywhere.
 */
export function errorShapeProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'not a JSON object';
  const { error, request_id: requestId, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `unexpected keys ${Object.keys(rest).join(', ')}`;
  if (typeof requestId !== 'string' || requestId === '') return 'no request_id';
  if (typeof error !== 'object' || error === null) return 'no error object';
  const { code, message, details, ...others } = error as Record<string, unknown>;
  if (Object.keys(others).length > 0) return `unexpected keys in error: ${Object.keys(others).join(', ')}`;
  if (typeof code !== 'string' || !/^[a-z0-9_]+$/.test(code)) return `bad code ${String(code)}`;
  if (typeof message !== 'string' || message === '') return 'no message';
  if (code === 'validation_failed') {
    if (!Array.isArray(details)) return 'validation details are not a list';
    const bad = details.find(
      (problem: unknown) =>
        typeof problem !== 'object' ||
        problem === null ||
        Object.keys(problem).sort().join() !== 'field,message' ||
        typeof (problem as { field: unknown }).field !== 'string' ||
        typeof (problem as { message: unknown }).message !== 'string',
    );
    if (bad !== undefined) return `a validation detail is not {field, message}: ${JSON.stringify(bad)}`;
  } else if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    return `details of ${code} are not an object`;
  }
  if (/\n\s+at /.test(JSON.stringify(body).replace(/\\n/g, '\n'))) return 'a stack trace';
  return undefined;
}
