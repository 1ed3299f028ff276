// Tasks in PostgreSQL (the `db` service). The pod may start before the database: connect and create the table
// with a growing backoff until it works; until then the store is not ready and /healthz answers 503.
import pg from 'pg';
import type { Store, Task } from './store';

const SCHEMA = `CREATE TABLE IF NOT EXISTS tasks (
  id serial primary key,
  title text not null,
  done boolean not null default false,
  created_at timestamptz default now()
)`;

/** PostgreSQL's SQLSTATE for "relation does not exist". */
const UNDEFINED_TABLE = '42P01';

export class PgStore implements Store {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private isReady = false;
  private closed = false;

  /** Connects with the PG* environment (PGHOST, PGUSER, PGDATABASE, PGPASSWORD). */
  constructor(
    private readonly log: (message: string) => void,
    config: pg.PoolConfig = {},
  ) {
    this.pool = new pg.Pool({ max: 5, connectionTimeoutMillis: 5000, ...config });
    // An idle client whose connection dies (the db restarts) must not crash the process: the pool replaces it.
    this.pool.on('error', (err) => this.log(`postgres: idle connection lost: ${err.message}`));
  }

  /** Creates the table, retrying (0.5 s doubling to 5 s) while the database starts; resolves once ready. */
  async start(): Promise<void> {
    for (let attempt = 1, wait = 500; !this.closed; attempt++, wait = Math.min(wait * 2, 5000)) {
      try {
        await this.pool.query(SCHEMA);
        this.isReady = true;
        this.log(`postgres: connected to ${process.env.PGHOST ?? 'localhost'} (attempt ${attempt})`);
        return;
      } catch (err) {
        this.log(`postgres: not reachable yet (attempt ${attempt}, retrying in ${wait} ms): ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  ready(): boolean {
    return this.isReady;
  }

  /**
   * Runs a query; when the table is gone (the db pod was replaced and its emptyDir started afresh) creates it
   * again and retries once, so tasks needs no restart after the database's.
   */
  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      if ((err as { code?: string }).code !== UNDEFINED_TABLE) throw err;
      this.log('postgres: table tasks is missing (a new database?): creating it again');
      await this.pool.query(SCHEMA);
      return (await this.pool.query<R>(text, values)).rows;
    }
  }

  list(): Promise<Task[]> {
    return this.query<Task>('SELECT id, title, done FROM tasks ORDER BY id');
  }

  async get(id: number): Promise<Task | undefined> {
    return (await this.query<Task>('SELECT id, title, done FROM tasks WHERE id = $1', [id]))[0];
  }

  async create(title: string): Promise<Task> {
    return (await this.query<Task>('INSERT INTO tasks (title) VALUES ($1) RETURNING id, title, done', [title]))[0]!;
  }

  async complete(id: number): Promise<Task | undefined> {
    return (await this.query<Task>('UPDATE tasks SET done = true WHERE id = $1 RETURNING id, title, done', [id]))[0];
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.end();
  }
}
