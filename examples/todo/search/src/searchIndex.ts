// The search index: the tasks tasks has told us about, kept in a JSON file under DATA_DIR so a restart (node
// --watch on a synced bundle, a new pod on the same emptyDir) finds them again.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { search, type IndexedTask } from './match';

export class SearchIndex {
  private readonly tasks = new Map<number, IndexedTask>();
  private saving: Promise<void> = Promise.resolve();

  /** `file`: where the index persists (undefined: memory only). */
  constructor(readonly file?: string) {}

  /** Reads the file when there is one; a missing file is an empty index, a corrupt one is reported and skipped. */
  async load(log: (message: string) => void): Promise<void> {
    if (!this.file) return;
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`index: cannot read ${this.file}: ${String(err)}`);
      return;
    }
    try {
      for (const t of JSON.parse(text) as IndexedTask[]) this.tasks.set(t.id, t);
      log(`index: ${this.tasks.size} task(s) loaded from ${this.file}`);
    } catch (err) {
      log(`index: ${this.file} is not a JSON array of tasks, starting empty: ${String(err)}`);
    }
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Adds or replaces the task, then persists (saves run one at a time, each writing the latest state). */
  async put(task: IndexedTask): Promise<void> {
    this.tasks.set(task.id, { ...task });
    this.saving = this.saving.then(() => this.save());
    await this.saving;
  }

  find(query: string): IndexedTask[] {
    return search(this.tasks.values(), query);
  }

  private async save(): Promise<void> {
    if (!this.file) return;
    // Write then rename: a restart mid-write never leaves half a file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    await fs.writeFile(tmp, JSON.stringify([...this.tasks.values()]));
    await fs.rename(tmp, this.file);
  }
}
