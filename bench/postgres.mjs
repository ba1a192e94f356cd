// The local PostgreSQL the benches use, and statements run on its maintenance database (creating
// and dropping a bench's own database).
import pg from 'pg';

export const server = 'postgres://postgres@127.0.0.1:5432';

export async function admin(sql) {
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  await client.query(sql);
  await client.end();
}
