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

  async list(): Promise<Task[]> {
    const r = await this.pool.query<Task>('SELECT id, title, done FROM tasks ORDER BY id');
    return r.rows;
  }

  async get(id: number): Promise<Task | undefined> {
    const r = await this.pool.query<Task>('SELECT id, title, done FROM tasks WHERE id = $1', [id]);
    return r.rows[0];
  }

  async create(title: string): Promise<Task> {
    const r = await this.pool.query<Task>('INSERT INTO tasks (title) VALUES ($1) RETURNING id, title, done', [title]);
    return r.rows[0]!;
  }

  async complete(id: number): Promise<Task | undefined> {
    const r = await this.pool.query<Task>('UPDATE tasks SET done = true WHERE id = $1 RETURNING id, title, done', [id]);
    return r.rows[0];
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.end();
  }
}
