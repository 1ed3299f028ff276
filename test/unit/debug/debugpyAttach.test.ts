import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { BreakpointIdMap, debugpyAttachArguments } from '../../../src/debugAdapter/python/debugpy';

describe('debugpy attach arguments', () => {
  const base = {
    type: 'sandpiper',
    request: 'attach',
    name: 'Sandpiper: api',
    service: 'api',
    env: 'dev-ann',
    runtime: 'python',
    port: 5678,
    host: '127.0.0.1',
    localRoot: '/ws/api',
    remoteRoot: '/app/',
  };

  it('maps localRoot to remoteRoot and drops what would make debugpy connect elsewhere', () => {
    const args = debugpyAttachArguments(base);
    assert.deepEqual(args.pathMappings, [{ localRoot: path.resolve('/ws/api'), remoteRoot: '/app' }]);
    for (const key of ['host', 'port', 'service', 'env', 'runtime', 'localRoot', 'remoteRoot'])
      assert.ok(!(key in args), `${key} is not passed on`);
    assert.equal(args.type, 'python');
    assert.equal(args.request, 'attach');
    assert.equal(args.name, 'Sandpiper: api');
    assert.equal(args.justMyCode, true);
  });

  it('keeps launch.json extras and further mappings, without repeating the main one', () => {
    const args = debugpyAttachArguments({
      ...base,
      justMyCode: false,
      redirectOutput: true,
      pathMappings: [
        { localRoot: '/ws/api', remoteRoot: '/app' },
        { localRoot: '/ws/lib', remoteRoot: '/usr/lib/shared' },
      ],
    } as Parameters<typeof debugpyAttachArguments>[0]);
    assert.deepEqual(args.pathMappings, [
      { localRoot: path.resolve('/ws/api'), remoteRoot: '/app' },
      { localRoot: '/ws/lib', remoteRoot: '/usr/lib/shared' },
    ]);
    assert.equal(args.justMyCode, false);
    assert.equal(args.redirectOutput, true);
  });

  it('keeps a root remoteRoot as /', () => {
    assert.equal(
      (debugpyAttachArguments({ ...base, remoteRoot: '/' }).pathMappings as Array<{ remoteRoot: string }>)[0]
        .remoteRoot,
      '/',
    );
  });
});

describe('breakpoint ids across re-attaches', () => {
  it('gives VS Code its own ids and keeps them when a new debugpy process renumbers the breakpoints', () => {
    const ids = new BreakpointIdMap();
    // First process: debugpy numbers from 0; the ids VS Code gets are Sandpiper's own.
    const a = ids.clientId(0);
    const b = ids.clientId(1);
    assert.notEqual(a, b);
    assert.equal(ids.clientId(0), a, 'stable within a connection');
    // Second process: the replay gets debugpy ids 0 and 1 again, for breakpoints b and a in that order.
    ids.reset();
    assert.equal(ids.knows(0), false);
    ids.bind(0, b);
    ids.bind(1, a);
    assert.equal(ids.clientId(0), b);
    assert.equal(ids.clientId(1), a);
    // A breakpoint added after the re-attach gets an id VS Code has not seen.
    const c = ids.clientId(2);
    assert.ok(![a, b].includes(c));
    assert.ok(![a, b, c].includes(ids.fresh()));
  });
});
