import { Writable } from 'node:stream';
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { runWithLogContext } from './log-context';

describe('runWithLogContext', () => {
  const chunks: string[] = [];
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  let logger: PinoLogger;

  beforeAll(() => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const root = pino({ base: { service: 'worker' } }, stream);
    (PinoLogger as unknown as { root: pino.Logger }).root = root;
    logger = new PinoLogger({ pinoHttp: [{}, stream] });
  });

  beforeEach(() => {
    chunks.length = 0;
  });

  it('binds the run to every line written inside it', async () => {
    await runWithLogContext({ research_id: 'r1', request_id: 'q1' }, async () => {
      logger.info('inside');
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('after an await');
    });
    expect(lines()).toEqual([
      expect.objectContaining({ msg: 'inside', research_id: 'r1', request_id: 'q1' }),
      expect.objectContaining({ msg: 'after an await', research_id: 'r1', request_id: 'q1' }),
    ]);
  });

  it('leaves no stale context on lines written after the run by what it created', async () => {
    let late: Promise<void> | undefined;
    await runWithLogContext({ research_id: 'finished' }, async () => {
      // Like a client that first connected during the run and reports an error minutes later.
      late = new Promise((resolve) =>
        setTimeout(() => {
          logger.warn('connection lost');
          resolve();
        }, 20),
      );
    });
    await late;
    const [line] = lines();
    expect(line).toMatchObject({ msg: 'connection lost', service: 'worker' });
    expect(line).not.toHaveProperty('research_id');
  });

  it('keeps each of two concurrent runs on its own lines', async () => {
    const run = (id: string, delay: number) =>
      runWithLogContext({ research_id: id }, async () => {
        await new Promise((resolve) => setTimeout(resolve, delay));
        logger.info(`line of ${id}`);
      });
    await Promise.all([run('a', 15), run('b', 5)]);
    expect(lines().map((line) => [line.msg, line.research_id])).toEqual([
      ['line of b', 'b'],
      ['line of a', 'a'],
    ]);
  });
});
