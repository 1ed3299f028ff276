// The tasks service: the Todo page and its JSON API, backed by PostgreSQL when PGHOST is set, else by memory.
import { log, serve } from '../../lib/server';
import { searchIndexer } from './indexer';
import { PgStore } from './pgStore';
import { tasksRouter } from './routes';
import { MemoryStore, type Store } from './store';

const say = (message: string) => log('tasks', message);

function openStore(): Store {
  if (!process.env.PGHOST) {
    say('WARNING: PGHOST is not set: tasks are kept IN MEMORY and are lost when this process restarts');
    return new MemoryStore();
  }
  const store = new PgStore(say);
  void store.start();
  return store;
}

const store = openStore();
const searchUrl = process.env.SEARCH_URL || 'http://search';
serve({
  name: 'tasks',
  router: tasksRouter(store, searchIndexer(searchUrl, say)),
  ready: () => store.ready(),
  onClose: () => store.close(),
});
say(`store: ${store.kind}; search: ${searchUrl}`);
