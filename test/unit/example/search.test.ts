// The Todo example's search service: word matching and the index file that outlives a restart.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { matches, parseTask, search, wordsOf } from '../../../examples/todo/search/src/match';
import { SearchIndex } from '../../../examples/todo/search/src/searchIndex';

describe('example search: matching', () => {
  it('splits words of any script, lowercase, without punctuation', () => {
    assert.deepEqual(wordsOf('Buy oat-milk, 2 L!'), ['buy', 'oat', 'milk', '2', 'l']);
    assert.deepEqual(wordsOf('Café CRÈME'), ['café', 'crème']);
    assert.deepEqual(wordsOf('  '), []);
  });

  it('needs every query word to start a word of the title, ignoring case', () => {
    assert.ok(matches('Buy oat milk', 'MILK buy'));
    assert.ok(matches('Buy oat milk', 'mi'));
    assert.ok(!matches('Buy oat milk', 'milk bread'), 'one word missing');
    assert.ok(!matches('Buy oat milk', 'ilk'), 'inside a word is no match');
    assert.ok(matches('Buy oat milk', ''), 'an empty query matches everything');
  });

  it('returns the matching tasks by id', () => {
    const tasks = [
      { id: 3, title: 'Walk the dog', done: false },
      { id: 1, title: 'Dog food', done: true },
      { id: 2, title: 'Water plants', done: false },
    ];
    assert.deepEqual(
      search(tasks, 'dog').map((t) => t.id),
      [1, 3],
    );
    assert.deepEqual(search(tasks, 'cat'), []);
  });

  it('accepts {id, title, done} bodies only', () => {
    assert.deepEqual(parseTask({ id: 1, title: 'a' }), { id: 1, title: 'a', done: false });
    assert.deepEqual(parseTask({ id: 2, title: 'b', done: true }), { id: 2, title: 'b', done: true });
    for (const bad of [null, [], 'x', { title: 'a' }, { id: 0, title: 'a' }, { id: 1.5, title: 'a' }, { id: 1 }])
      assert.equal(typeof parseTask(bad), 'string', JSON.stringify(bad));
    assert.equal(typeof parseTask({ id: 1, title: 'a', done: 'yes' }), 'string');
  });
});

describe('example search: the index file', () => {
  let dir: string;
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-search-'));
    logs.length = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the latest state of each task and finds it after a restart', async () => {
    const file = path.join(dir, 'data', 'index.json');
    const first = new SearchIndex(file);
    await first.load(log);
    await Promise.all([
      first.put({ id: 1, title: 'Buy milk', done: false }),
      first.put({ id: 2, title: 'Walk the dog', done: false }),
      first.put({ id: 1, title: 'Buy milk', done: true }),
    ]);
    assert.deepEqual(first.find('milk'), [{ id: 1, title: 'Buy milk', done: true }]);

    const second = new SearchIndex(file);
    await second.load(log);
    assert.equal(second.size, 2);
    assert.deepEqual(second.find('buy'), [{ id: 1, title: 'Buy milk', done: true }]);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['index.json'], 'no temporary file left behind');
  });

  it('starts empty on a missing or corrupt file, saying so for the corrupt one', async () => {
    const missing = new SearchIndex(path.join(dir, 'none.json'));
    await missing.load(log);
    assert.equal(missing.size, 0);
    assert.deepEqual(logs, []);

    const file = path.join(dir, 'index.json');
    fs.writeFileSync(file, '{not json');
    const corrupt = new SearchIndex(file);
    await corrupt.load(log);
    assert.equal(corrupt.size, 0);
    assert.match(logs.join('\n'), /not a JSON array/);
  });

  it('works in memory without a file', async () => {
    const index = new SearchIndex();
    await index.load(log);
    await index.put({ id: 7, title: 'Call mum', done: false });
    assert.deepEqual(
      index.find('call').map((t) => t.id),
      [7],
    );
  });
});
