import { AddressInfo, Server, createServer } from 'node:net';
import { Pool } from 'pg';
import { GuardedClient } from './guarded-client';

/** A backend message: its type, then its length (itself included) and its body. */
function message(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([Buffer.from(type), length, body]);
}

const AUTHENTICATION_OK = message('R', Buffer.from([0, 0, 0, 0]));
const READY_FOR_QUERY = message('Z', Buffer.from('I'));
/** What each session of a PostgreSQL server told to shut down (`pg_ctl stop -m fast`) receives. */
const ADMIN_SHUTDOWN = message(
  'E',
  Buffer.from(
    ['SFATAL', 'VFATAL', 'C57P01', 'Mterminating connection due to administrator command'].join('\0') + '\0\0',
  ),
);

/**
 * A server that completes each connection's start-up and, in the same write, ends the session
 * as a PostgreSQL shutting down does: the client reads both in one turn.
 */
async function shuttingDownServer(): Promise<Server> {
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.end(Buffer.concat([AUTHENTICATION_OK, READY_FOR_QUERY, ADMIN_SHUTDOWN]));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('GuardedClient', () => {
  let server: Server;

  beforeAll(async () => {
    server = await shuttingDownServer();
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('keeps the process up when a connection fails in the same read that handed it over, and the pool drops it', async () => {
    const { port } = server.address() as AddressInfo;
    const pool = new Pool({ host: '127.0.0.1', port, user: 'app', database: 'app', Client: GuardedClient });
    const poolErrors: Error[] = [];
    pool.on('error', (error) => poolErrors.push(error));
    const uncaught: Error[] = [];
    const onUncaught = (error: Error) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      // The pool hands the client over as soon as its start-up ends; the shutdown's FATAL error is
      // read right after, before the caller has the client.
      const client = await pool.connect();
      await new Promise((resolve) => setImmediate(resolve));
      const failed = await client.query('SELECT 1').then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failed?.message).toMatch(/not queryable|terminat/);
      client.release(failed);
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
      expect(pool.totalCount).toBe(0);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pool.end();
    }
  });
});
