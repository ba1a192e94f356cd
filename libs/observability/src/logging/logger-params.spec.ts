import { Writable } from 'node:stream';
import { loadConfig } from '@app/config';
import pino, { LoggerOptions } from 'pino';
import { loggerParams } from './logger-params';

function capture(service: 'api' | 'worker'): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const params = loggerParams(loadConfig({ LOG_LEVEL: 'debug' }), service);
  const logger = pino(params.pinoHttp as LoggerOptions, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('loggerParams', () => {
  it('writes the fields of the deployment chapter, with the level in capitals', () => {
    const { logger, lines } = capture('api');
    logger.child({ request_id: 'abc123' }).info({ method: 'POST', status_code: 202, duration: 1.234 }, '請求完成');
    expect(lines()[0]).toEqual({
      level: 'INFO',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'api',
      logger: 'api',
      request_id: 'abc123',
      method: 'POST',
      status_code: 202,
      duration: 1.234,
      message: '請求完成',
    });
  });

  it('names the component in `logger` when there is one', () => {
    const { logger, lines } = capture('worker');
    logger.warn({ logger: 'ResearchExecution' }, 'research handed back');
    expect(lines()[0]).toMatchObject({ level: 'WARN', logger: 'ResearchExecution', service: 'worker' });
  });

  it('redacts credentials wherever they appear', () => {
    const { logger, lines } = capture('api');
    logger.info(
      {
        req: { headers: { authorization: 'Bearer secret-1', cookie: 'session=secret-2', 'x-api-key': 'secret-3' } },
        apiKey: 'secret-4',
        config: { llmApiKey: 'secret-5', password: 'secret-6' },
        headers: { authorization: 'Basic secret-7' },
      },
      'with secrets',
    );
    const line = JSON.stringify(lines()[0]);
    for (let i = 1; i <= 7; i += 1) expect(line).not.toContain(`secret-${i}`);
    expect(line).toContain('[REDACTED]');
  });
});
