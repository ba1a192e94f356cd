import { UNDECODABLE_QUERY, parseQuery } from './query-string';

describe('parseQuery', () => {
  it('parses as Fastify does: + as a space, repeated names as arrays, percent-encoded UTF-8', () => {
    const query = parseQuery('q=NVIDIA+HBM&status=completed&tag=a&tag=b&name=%E4%B8%AD%E6%96%87&empty=&flag');
    expect({ ...query }).toEqual({
      q: 'NVIDIA HBM',
      status: 'completed',
      tag: ['a', 'b'],
      name: '中文',
      empty: '',
      flag: '',
    });
    expect(Object.getPrototypeOf(query)).toBeNull();
    expect(query[UNDECODABLE_QUERY]).toBeUndefined();
  });

  it('names the parameters whose percent-encoding is not UTF-8, in names or values', () => {
    const query = parseQuery('resource_id=%ED%A0%BD&limit=5&%FF=1&ok=%25');
    expect(query[UNDECODABLE_QUERY]).toEqual(['resource_id', '%FF']);
    expect(query.ok).toBe('%');
    expect(query.limit).toBe('5');
  });
});
