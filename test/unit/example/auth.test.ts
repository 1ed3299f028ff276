// The Todo example's auth service: the users file, Basic credentials and their check.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseBasic, parseUsers, verify } from '../../../examples/todo/auth/src/credentials';
import { UsersFile } from '../../../examples/todo/auth/src/usersFile';

const basic = (s: string) => `Basic ${Buffer.from(s, 'utf8').toString('base64')}`;

describe('example auth: credentials', () => {
  it('reads name:password lines, skipping blanks, comments and lines without a name', () => {
    const users = parseUsers('# users\ntodo:s3cret\r\n\n  ann:pa:ss:word  \n:nobody\nnocolon\n');
    assert.deepEqual(
      [...users],
      [
        ['todo', 's3cret'],
        ['ann', 'pa:ss:word'],
      ],
    );
  });

  it('parses Basic credentials (the password may hold colons) and nothing else', () => {
    assert.deepEqual(parseBasic(basic('todo:s3:cret')), { name: 'todo', password: 's3:cret' });
    assert.deepEqual(parseBasic(`basic   ${Buffer.from('a:').toString('base64')}`), { name: 'a', password: '' });
    assert.deepEqual(parseBasic(basic('émile:ça')), { name: 'émile', password: 'ça' });
    for (const h of [undefined, '', 'Bearer abc', basic('nocolon'), basic(':pw'), 'Basic !!!'])
      assert.equal(parseBasic(h), undefined, String(h));
  });

  it('accepts the right password of a known user only', () => {
    const users = parseUsers('todo:s3cret\nann:other');
    assert.ok(verify(users, { name: 'todo', password: 's3cret' }));
    assert.ok(verify(users, { name: 'ann', password: 'other' }));
    assert.ok(!verify(users, { name: 'todo', password: 'other' }), "another user's password");
    assert.ok(!verify(users, { name: 'todo', password: 's3cret ' }));
    assert.ok(!verify(users, { name: 'todo', password: 's3cre' }), 'a prefix of the password');
    assert.ok(!verify(users, { name: 'bob', password: 's3cret' }));
    assert.ok(!verify(new Map(), { name: 'todo', password: '' }));
  });
});

describe('example auth: the users file', () => {
  let dir: string;
  let now = 0;
  const logs: string[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-users-'));
    logs.length = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('re-reads the file when a Secret update swaps it, checking at most once per interval', () => {
    // The layout kubelet gives a mounted Secret: users → ..data/users, ..data → a dated folder swapped on update.
    fs.mkdirSync(path.join(dir, 'v1'));
    fs.writeFileSync(path.join(dir, 'v1', 'users'), 'todo:one\n');
    fs.symlinkSync('v1', path.join(dir, '..data'));
    fs.symlinkSync(path.join('..data', 'users'), path.join(dir, 'users'));
    const file = new UsersFile(
      path.join(dir, 'users'),
      (m) => logs.push(m),
      1000,
      () => now,
    );
    assert.equal(file.current().get('todo'), 'one');

    fs.mkdirSync(path.join(dir, 'v2'));
    fs.writeFileSync(path.join(dir, 'v2', 'users'), 'todo:two\nann:x\n');
    fs.symlinkSync('v2', path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    now += 500;
    assert.equal(file.current().get('todo'), 'one', 'not re-checked within the interval');
    now += 600;
    assert.equal(file.current().get('todo'), 'two');
    assert.equal(file.current().size, 2);
    assert.equal(logs.filter((l) => /user\(s\) read/.test(l)).length, 2, 'read once per change');
  });

  it('refuses everyone while the file is missing, and says so', () => {
    const file = new UsersFile(
      path.join(dir, 'absent'),
      (m) => logs.push(m),
      0,
      () => now,
    );
    assert.equal(file.current().size, 0);
    assert.match(logs.join('\n'), /cannot read .*absent, refusing everyone/);
    fs.writeFileSync(path.join(dir, 'absent'), 'todo:pw\n');
    now += 1;
    assert.equal(file.current().get('todo'), 'pw');
  });
});
