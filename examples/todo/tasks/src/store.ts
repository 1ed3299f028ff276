// Where tasks live: the Store interface and the in-memory store (used when no database is configured).

export interface Task {
  id: number;
  title: string;
  done: boolean;
}

export interface Store {
  /** Which store this is, for the start-up log line. */
  readonly kind: string;
  /** Whether the store can answer (the database is reachable and its table exists). */
  ready(): boolean;
  list(): Promise<Task[]>;
  get(id: number): Promise<Task | undefined>;
  create(title: string): Promise<Task>;
  /** Marks the task done; undefined when there is no such task. */
  complete(id: number): Promise<Task | undefined>;
  close(): Promise<void>;
}

/** Tasks in this process's memory: lost on every restart, and not shared between replicas. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly tasks = new Map<number, Task>();
  private nextId = 1;

  ready(): boolean {
    return true;
  }

  async list(): Promise<Task[]> {
    return [...this.tasks.values()].map((t) => ({ ...t }));
  }

  async get(id: number): Promise<Task | undefined> {
    const t = this.tasks.get(id);
    return t && { ...t };
  }

  async create(title: string): Promise<Task> {
    const task = { id: this.nextId++, title, done: false };
    this.tasks.set(task.id, task);
    return { ...task };
  }

  async complete(id: number): Promise<Task | undefined> {
    const t = this.tasks.get(id);
    if (!t) return undefined;
    t.done = true;
    return { ...t };
  }

  async close(): Promise<void> {}
}
