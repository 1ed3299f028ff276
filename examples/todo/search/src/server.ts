// The search service: tasks POSTs each created or completed task to /index; GET /search?q=words finds them.
import * as path from 'node:path';
import { HttpError, readJson, sendJson } from '../../lib/json';
import { Router } from '../../lib/router';
import { log, serve } from '../../lib/server';
import { SearchIndex } from './searchIndex';
import { parseTask } from './match';

const say = (message: string) => log('search', message);
const dataDir = process.env.DATA_DIR;
const index = new SearchIndex(dataDir ? path.join(dataDir, 'index.json') : undefined);
if (!dataDir) say('WARNING: DATA_DIR is not set: the index is kept IN MEMORY and is lost when this process restarts');

let loaded = false;
void index.load(say).finally(() => (loaded = true));

const router = new Router()
  .on('POST', '/index', async (req, res) => {
    const task = parseTask(await readJson(req));
    if (typeof task === 'string') throw new HttpError(400, task);
    await index.put(task);
    sendJson(res, 200, task);
  })
  .on('GET', '/search', (req, res) => {
    const q = new URL(req.url ?? '/', 'http://search').searchParams.get('q') ?? '';
    sendJson(res, 200, index.find(q));
  });

serve({ name: 'search', router, ready: () => loaded });
