// The tasks API: the Todo page, list, add, get and complete. Every change is sent to search for indexing.
import { HttpError, asObject, readJson, sendJson, sendText } from '../../lib/json';
import { Router } from '../../lib/router';
import type { Indexer } from './indexer';
import { PAGE } from './page';
import type { Store } from './store';

export const MAX_TITLE_LENGTH = 200;

export function tasksRouter(store: Store, index: Indexer): Router {
  return new Router()
    .on('GET', '/', (_req, res) => sendText(res, 200, PAGE, 'text/html; charset=utf-8'))
    .on('GET', '/tasks', async (_req, res) => sendJson(res, 200, await store.list()))
    .on('POST', '/tasks', async (req, res) => {
      const task = await store.create(titleOf(await readJson(req)));
      index(task);
      sendJson(res, 201, task);
    })
    .on('GET', '/tasks/:id', async (_req, res, params) => {
      sendJson(res, 200, found(await store.get(idOf(params.id))));
    })
    .on('POST', '/tasks/:id/done', async (_req, res, params) => {
      const task = found(await store.complete(idOf(params.id)));
      index(task);
      sendJson(res, 200, task);
    });
}

/** The trimmed title of a `{ title }` body; 400 unless it is a non-empty string of at most MAX_TITLE_LENGTH. */
export function titleOf(body: unknown): string {
  const title = asObject(body).title;
  if (typeof title !== 'string' || !title.trim()) throw new HttpError(400, 'title is required (a non-empty string)');
  if (title.length > MAX_TITLE_LENGTH) throw new HttpError(400, `title is longer than ${MAX_TITLE_LENGTH} characters`);
  return title.trim();
}

function idOf(text: string | undefined): number {
  const id = Number(text);
  if (!/^[0-9]{1,9}$/.test(text ?? '') || !Number.isSafeInteger(id)) throw new HttpError(404, 'no such task');
  return id;
}

function found<T>(value: T | undefined): T {
  if (value === undefined) throw new HttpError(404, 'no such task');
  return value;
}
