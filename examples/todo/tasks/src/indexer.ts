// Tells the search service about a created or completed task. Search is a convenience: a failure is logged and
// never fails the request that changed the task.
import type { Task } from './store';

export type Indexer = (task: Task) => void;

export function searchIndexer(baseUrl: string, log: (message: string) => void, timeoutMs = 2000): Indexer {
  const url = new URL('/index', baseUrl).toString();
  return (task) => {
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(task),
      signal: AbortSignal.timeout(timeoutMs),
    }).then(
      async (res) => {
        await res.arrayBuffer(); // release the connection
        if (!res.ok) log(`search: indexing task ${task.id} answered ${res.status}`);
      },
      (err: unknown) => log(`search: indexing task ${task.id} failed: ${(err as Error).message}`),
    );
  };
}
