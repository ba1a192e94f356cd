import { AuditOutcome } from '../audit-action';
import { AuditedRequest, entryOf } from './audit-request';
import { AuditedRoute } from './audited.decorator';

describe('entryOf', () => {
  const route: AuditedRoute = { action: 'research.read', resourceType: 'research' };
  const request = (id: string, userAgent: string) =>
    ({
      id: 'req-1',
      ip: '10.0.0.1',
      params: { id },
      headers: { 'user-agent': userAgent },
    }) as unknown as AuditedRequest;

  it('keeps a record to text PostgreSQL stores as it was hashed: no pair of surrogates cut at the limit, no lone surrogate, no NUL', () => {
    const entry = entryOf(
      request(`${'a'.repeat(127)}\u{1F600}`, `${'b'.repeat(511)}\u{1F600}`),
      route,
      AuditOutcome.Failure,
      400,
    );
    expect(entry.resourceId).toBe(`${'a'.repeat(127)}\uFFFD`);
    expect(entry.userAgent).toBe(`${'b'.repeat(511)}\uFFFD`);
    expect(entryOf(request('x\uD800y\0z', 'ok'), route, AuditOutcome.Failure, 400).resourceId).toBe('x\uFFFDy\uFFFDz');
  });

  it('leaves whole characters beyond the BMP as they are', () => {
    expect(entryOf(request('\u{1F600}', '\u{1F600}'), route, AuditOutcome.Success, 200)).toMatchObject({
      resourceId: '\u{1F600}',
      userAgent: '\u{1F600}',
    });
  });
});
