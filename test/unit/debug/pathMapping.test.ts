import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { PathMapping } from '../../../src/debugAdapter/reattach';
import { describeRemoteObject, isExpandable } from '../../../src/debugAdapter/node/cdp';

describe('debug path mapping', () => {
  const local = path.resolve('/work/tasks');
  const m = new PathMapping(local, '/app/');

  it('maps workspace files into the container and back', () => {
    assert.equal(m.toRemote(path.join(local, 'src', 'server.js')), '/app/src/server.js');
    assert.equal(m.toLocal('/app/src/server.js'), path.join(local, 'src', 'server.js'));
    assert.equal(m.toLocal('file:///app/src/my%20file.js'), path.join(local, 'src', 'my file.js'));
  });

  it('leaves files outside the roots unmapped', () => {
    assert.equal(m.toRemote(path.resolve('/elsewhere/x.js')), undefined);
    assert.equal(m.toLocal('/usr/lib/node/x.js'), undefined);
    assert.equal(m.toLocal('node:events'), undefined);
    assert.equal(m.toLocal('/application/x.js'), undefined);
  });

  it('matches both spellings Node uses for a script', () => {
    const re = new RegExp(PathMapping.scriptUrlRegex('/app/src/server.js'));
    assert.ok(re.test('/app/src/server.js'));
    assert.ok(re.test('file:///app/src/server.js'));
    assert.ok(!re.test('/app/src/server.jsx'));
    assert.ok(!re.test('file:///other/app/src/server.js'));
  });
});

describe('remote values', () => {
  it('reads like the JS debugger shows them', () => {
    assert.equal(describeRemoteObject({ type: 'string', value: 'hi "x"' }), '"hi \\"x\\""');
    assert.equal(describeRemoteObject({ type: 'number', value: 3, description: '3' }), '3');
    assert.equal(describeRemoteObject({ type: 'number', unserializableValue: 'NaN' }), 'NaN');
    assert.equal(describeRemoteObject({ type: 'object', subtype: 'null', value: null }), 'null');
    assert.equal(describeRemoteObject({ type: 'undefined' }), 'undefined');
    assert.equal(
      describeRemoteObject({ type: 'function', description: 'function f() {\n  return 1;\n}', objectId: '1' }),
      'function f() {',
    );
    assert.equal(isExpandable({ type: 'object', className: 'Object', description: 'Object', objectId: '7' }), true);
    assert.equal(isExpandable({ type: 'object', subtype: 'null' }), false);
  });
});
