import { Client } from 'pg';

/**
 * The pg client of every pool the apps open: it always has a listener for 'error', so that a
 * connection failing at the wrong moment cannot end the process.
 *
 * pg emits 'error' on a client whose connection fails while no statement runs on it, and an
 * 'error' that nobody listens to ends the process. The pool listens while a client is idle, and
 * whoever takes a client out listens while holding it, but only from the moment it has it. In
 * between, pg may already be reading what PostgreSQL sent next on that connection: when the answer
 * that frees a client (the end of its start-up, or of a statement, with another caller waiting
 * for a client) and a FATAL error (a server shutting down) arrive together, pg hands the client
 * over and reads the error in the same turn, before its new holder can listen.
 *
 * Nothing is lost by listening here: the failed connection is marked unusable, its holder's next
 * statement fails as the database being unavailable, and the pool closes it when it comes back.
 */
export class GuardedClient extends Client {
  constructor(...args: ConstructorParameters<typeof Client>) {
    super(...args);
    this.on('error', ignoreError);
  }
}

function ignoreError(): void {
  // See GuardedClient: whoever uses the connection sees the failure on its next statement.
}
