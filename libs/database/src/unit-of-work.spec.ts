import { isUnavailableError } from '@app/common';
import { loadConfig } from '@app/config';
import { TestConfigModule, TestDatabase } from '@app/testing';
import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { DatabaseModule } from './database.module';
import { EventEmitter } from 'node:events';
import type { PoolClient } from 'pg';
import { GuardedClient } from './guarded-client';
import { pgPoolOf } from './pool-query';
import { UnitOfWork } from './unit-of-work';

/** The unit of work against a real PostgreSQL database: what is committed, when, and what is not. */
describe('UnitOfWork', () => {
  let database: TestDatabase;
  let module: TestingModule;
  let unitOfWork: UnitOfWork;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await TestDatabase.create('unit_of_work', undefined, { migrate: false });
    await database.query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
    module = await Test.createTestingModule({
      imports: [TestConfigModule.with(loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url })), DatabaseModule],
    }).compile();
    await module.init();
    unitOfWork = module.get(UnitOfWork);
    dataSource = module.get(DataSource);
  });

  afterAll(async () => {
    await module?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    await database.query('DELETE FROM items');
  });

  const waitForCondition = async (condition: () => boolean) => {
    for (const deadline = Date.now() + 5000; !condition();) {
      if (Date.now() > deadline) throw new Error('the condition did not hold within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  /** What another connection sees: committed rows only. */
  const committed = async () =>
    (await database.query<{ id: number }>('SELECT id FROM items ORDER BY id')).map((r) => r.id);
  const insert = (id: number) => unitOfWork.query('INSERT INTO items (id, label) VALUES ($1, $2)', [id, `item ${id}`]);
  const transactionId = async () =>
    (await unitOfWork.query<{ id: string | null }[]>('SELECT txid_current_if_assigned()::text AS id'))[0]?.id ??
    undefined;

  it('commits the work of a unit at its end, not before', async () => {
    let seenInside: number[] = [];
    await unitOfWork.run(async () => {
      await insert(1);
      await insert(2);
      seenInside = await committed();
    });
    expect(seenInside).toEqual([]);
    expect(await committed()).toEqual([1, 2]);
  });

  it('rolls everything back when the work fails, and hands the error on', async () => {
    const failure = new Error('the change failed after its rows were written');
    const afterCommit = jest.fn();
    await expect(
      unitOfWork.run(async () => {
        await insert(1);
        unitOfWork.afterCommit(afterCommit);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await committed()).toEqual([]);
    expect(afterCommit).not.toHaveBeenCalled();
  });

  it('rolls back when a statement fails, and the connection goes back to the pool usable', async () => {
    await expect(
      unitOfWork.run(async () => {
        await insert(1);
        await insert(1);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await committed()).toEqual([]);
    await unitOfWork.run(() => insert(3));
    expect(await committed()).toEqual([3]);
  });

  it('joins a unit opened inside another: one transaction, committed by the outer one', async () => {
    const ids: (string | undefined)[] = [];
    let seenAfterInner: number[] = [];
    await unitOfWork.run(async () => {
      await insert(1);
      ids.push(await transactionId());
      await unitOfWork.run(async () => {
        await insert(2);
        ids.push(await transactionId());
      });
      seenAfterInner = await committed();
    });
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
    expect(seenAfterInner).toEqual([]);
    expect(await committed()).toEqual([1, 2]);
  });

  it('rolls the outer unit back when an inner one failed, even if the outer one caught the error', async () => {
    const inner = new Error('inner failure');
    await expect(
      unitOfWork.run(async () => {
        await insert(1);
        await unitOfWork
          .run(async () => {
            await insert(2);
            throw inner;
          })
          .catch(() => undefined);
        await insert(3);
      }),
    ).rejects.toBe(inner);
    expect(await committed()).toEqual([]);
  });

  it('runs after-commit callbacks once the rows are visible to others, before run resolves, in order', async () => {
    const calls: string[] = [];
    let visibleToCallback: number[] = [];
    const result = await unitOfWork.run(async () => {
      await insert(1);
      unitOfWork.afterCommit(async () => {
        visibleToCallback = await committed();
        calls.push('first');
      });
      await unitOfWork.run(async () => {
        unitOfWork.afterCommit(() => calls.push('from the inner unit'));
      });
      expect(calls).toEqual([]);
      return 'done';
    });
    expect(result).toBe('done');
    expect(visibleToCallback).toEqual([1]);
    expect(calls).toEqual(['first', 'from the inner unit']);
  });

  it('runs after-commit callbacks outside the finished transaction, and their failure does not fail the unit', async () => {
    let queriedInCallback: string | undefined = 'not run';
    await unitOfWork.run(async () => {
      await insert(1);
      unitOfWork.afterCommit(() => {
        throw new Error('side effect failed');
      });
      unitOfWork.afterCommit(async () => {
        expect(unitOfWork.active).toBe(false);
        await insert(2);
        queriedInCallback = await transactionId();
      });
    });
    // Outside a transaction the statement autocommits: no transaction id is left assigned.
    expect(queriedInCallback).toBeUndefined();
    expect(await committed()).toEqual([1, 2]);
  });

  it('refuses an after-commit callback outside a unit', () => {
    expect(unitOfWork.active).toBe(false);
    expect(() => unitOfWork.afterCommit(() => undefined)).toThrow(/open unit of work/);
  });

  it('gives TypeORM the same transaction: what its manager writes commits or rolls back with the unit', async () => {
    const write = async (id: number) => {
      const manager = await unitOfWork.manager();
      // A save of TypeORM's own would begin and commit a transaction if it thought none was open.
      await manager.transaction(async (inner) => {
        await inner.query('INSERT INTO items (id, label) VALUES ($1, $2)', [id, `item ${id}`]);
      });
      await manager
        .createQueryBuilder()
        .insert()
        .into('items')
        .values({ id: id + 100, label: 'built' })
        .execute();
    };
    await expect(
      unitOfWork.run(async () => {
        await insert(1);
        await write(2);
        expect(await committed()).toEqual([]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await committed()).toEqual([]);
    await unitOfWork.run(async () => {
      await write(3);
      await insert(4);
      expect(await transactionId()).toBeDefined();
    });
    expect(await committed()).toEqual([3, 4, 103]);
  });

  it('fails a unit whose connection is killed as unavailable, and the pool serves the next one', async () => {
    const attempt = unitOfWork.run(async () => {
      await insert(1);
      const [backend] = await unitOfWork.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
      await database.query('SELECT pg_terminate_backend($1)', [backend!.pid]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await insert(2);
    });
    const error = await attempt.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isUnavailableError(error)).toBe(true);
    expect(await committed()).toEqual([]);
    await unitOfWork.run(() => insert(3));
    expect(await committed()).toEqual([3]);
  });

  it('outside a unit, queries go to the data source and commit at once', async () => {
    expect(await unitOfWork.manager()).toBe(dataSource.manager);
    await insert(5);
    expect(await committed()).toEqual([5]);
  });

  it('takes no connection until the first query of a unit', async () => {
    const inTransaction = async () =>
      Number(
        (
          await database.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity
              WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
          )
        )[0]?.n,
      );
    const counts: number[] = [];
    await unitOfWork.run(async () => {
      counts.push(await inTransaction());
      await insert(1);
      counts.push(await inTransaction());
    });
    expect(counts).toEqual([0, 1]);
  });

  it('gives back a connection that arrives after its unit failed, and sends nothing on it', async () => {
    const pool = pgPoolOf(dataSource);
    const late = jest.fn();
    const attempt = unitOfWork.run(async () => {
      // The insert waits for the unit's connection while the other half of the work fails.
      await Promise.all([insert(1).then(late, late), Promise.reject(new Error('the other half failed'))]);
    });
    await expect(attempt).rejects.toThrow('the other half failed');
    await waitForCondition(() => late.mock.calls.length > 0 && pool.idleCount === pool.totalCount);
    expect(late.mock.calls[0]![0]).toEqual(new Error('the unit of work ended before this statement was sent'));
    const inTransaction = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(inTransaction[0]!.n).toBe(0);
    expect(await committed()).toEqual([]);
  });

  it('takes its connections from a pool of guarded clients', async () => {
    const client = await pgPoolOf(dataSource).connect();
    try {
      expect(client).toBeInstanceOf(GuardedClient);
    } finally {
      client.release();
    }
  });

  it('keeps concurrent units apart', async () => {
    const failing = unitOfWork.run(async () => {
      await insert(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error('this one fails');
    });
    const succeeding = unitOfWork.run(async () => {
      await insert(2);
      await new Promise((resolve) => setTimeout(resolve, 80));
    });
    await expect(failing).rejects.toThrow('this one fails');
    await succeeding;
    expect(await committed()).toEqual([2]);
  });

  describe('round trips', () => {
    /** ReadyForQuery messages: one per round trip, whatever a round trip carried. */
    const roundTripsOf = async (work: () => Promise<unknown>) => {
      let count = 0;
      const pool = pgPoolOf(dataSource);
      const count1 = () => (count += 1);
      const watch = (client: PoolClient) =>
        (client as unknown as { connection: EventEmitter }).connection.on('readyForQuery', count1);
      pool.on('acquire', watch);
      try {
        await work();
      } finally {
        pool.removeListener('acquire', watch);
        for (const client of (pool as unknown as { _clients: PoolClient[] })._clients)
          (client as unknown as { connection: EventEmitter }).connection.removeListener('readyForQuery', count1);
      }
      return count;
    };
    const deferInsert = (id: number) =>
      unitOfWork.defer('INSERT INTO items (id, label) VALUES ($1, $2)', [id, `item ${id}`], 'items-insert');

    it('sends BEGIN with the first statement and a deferred write with the COMMIT: two round trips', async () => {
      const trips = await roundTripsOf(() =>
        unitOfWork.run(async () => {
          await insert(1);
          await deferInsert(2);
          expect(await committed()).toEqual([]);
        }),
      );
      expect(trips).toBe(2);
      expect(await committed()).toEqual([1, 2]);
    });

    it('commits a unit of deferred writes alone in one round trip', async () => {
      const trips = await roundTripsOf(() =>
        unitOfWork.run(async () => {
          await deferInsert(1);
          await deferInsert(2);
        }),
      );
      expect(trips).toBe(1);
      expect(await committed()).toEqual([1, 2]);
    });

    it('sends a deferred write before the next statement, which sees it, and before TypeORM is handed the connection', async () => {
      await unitOfWork.run(async () => {
        await deferInsert(1);
        expect(await unitOfWork.query('SELECT id FROM items ORDER BY id')).toEqual([{ id: 1 }]);
        await deferInsert(2);
        const manager = await unitOfWork.manager();
        expect(await manager.query('SELECT id FROM items ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
      });
      expect(await committed()).toEqual([1, 2]);
    });

    it('rolls the whole unit back when a deferred write fails at the COMMIT: the COMMIT never runs', async () => {
      await expect(
        unitOfWork.run(async () => {
          await insert(1);
          await deferInsert(1);
        }),
      ).rejects.toMatchObject({ code: '23505' });
      expect(await committed()).toEqual([]);
      await unitOfWork.run(() => insert(2));
      expect(await committed()).toEqual([2]);
    });

    it('discards a connection whose failed batch skipped the preparing of a named statement; the next unit prepares it again', async () => {
      const pool = pgPoolOf(dataSource);
      const removed = jest.fn();
      pool.on('remove', removed);
      // The deferred insert fails; PostgreSQL then skips the named statement's Parse behind it.
      await expect(
        unitOfWork.run(async () => {
          await insert(1);
          await deferInsert(1);
          await unitOfWork.query('SELECT count(*)::int AS n FROM items', [], 'items-count');
        }),
      ).rejects.toMatchObject({ code: '23505' });
      // The pool closes the connection, then says so.
      for (let i = 0; i < 100 && removed.mock.calls.length === 0; i += 1) await new Promise((r) => setTimeout(r, 10));
      pool.removeListener('remove', removed);
      expect(removed).toHaveBeenCalledTimes(1);
      const counts = await Promise.all(
        [1, 2, 3].map(() =>
          unitOfWork.run(() =>
            unitOfWork.query<{ n: number }[]>('SELECT count(*)::int AS n FROM items', [], 'items-count'),
          ),
        ),
      );
      expect(counts).toEqual([[{ n: 0 }], [{ n: 0 }], [{ n: 0 }]]);
    });

    it('runs a deferred write at once outside a unit', async () => {
      await deferInsert(7);
      expect(await committed()).toEqual([7]);
    });
  });
});
