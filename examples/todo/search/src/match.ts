// Finding tasks by words: a title matches when every word of the query starts one of its words, ignoring case
// ("buy mi" finds "Buy milk"; "ilk" does not).

export interface IndexedTask {
  id: number;
  title: string;
  done: boolean;
}

/** The lowercase words of a text: runs of letters and digits in any script. */
export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Whether every query word is the start of a word of the title (an empty query matches everything). */
export function matches(title: string, query: string): boolean {
  const words = wordsOf(title);
  return wordsOf(query).every((q) => words.some((w) => w.startsWith(q)));
}

/** The tasks that match `query`, by id. */
export function search(tasks: Iterable<IndexedTask>, query: string): IndexedTask[] {
  return [...tasks].filter((t) => matches(t.title, query)).sort((a, b) => a.id - b.id);
}

/** A task from a POST /index body, or the reason it is not one. */
export function parseTask(body: unknown): IndexedTask | string {
  if (typeof body !== 'object' || body === null) return 'body must be a JSON object {id, title, done}';
  const { id, title, done } = body as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return 'id must be a positive integer';
  if (typeof title !== 'string') return 'title must be a string';
  if (done !== undefined && typeof done !== 'boolean') return 'done must be a boolean';
  return { id, title, done: done ?? false };
}
