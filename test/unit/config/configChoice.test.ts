import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { byDepth, innermostHolding } from '../../../src/features/shared/configChoice';

// A monorepo as examples/todo has it: one sandpiper.yaml per service folder, maybe one at the top too.
const root = path.join(path.sep, 'ws', 'todo');
const at = (...p: string[]) => path.join(root, ...p, 'sandpiper.yaml');

describe('choosing among several sandpiper.yaml files', () => {
  it('orders them shallowest first, then by path', () => {
    assert.deepEqual(byDepth([at('tasks'), at('auth'), at(), at('tasks', 'sub')]), [
      at(),
      at('auth'),
      at('tasks'),
      at('tasks', 'sub'),
    ]);
  });

  it("takes the innermost folder holding the active editor's file", () => {
    const files = [at(), at('tasks'), at('search')];
    assert.equal(innermostHolding(files, path.join(root, 'tasks', 'src', 'handlers.ts')), at('tasks'));
    assert.equal(innermostHolding(files, path.join(root, 'search', 'k8s', 'deployment.yaml')), at('search'));
    assert.equal(innermostHolding(files, path.join(root, 'README.md')), at());
  });

  it('takes none for a file outside every folder, or a sibling folder with a common prefix', () => {
    const files = [at('tasks')];
    assert.equal(innermostHolding(files, path.join(root, 'tasks-old', 'x.ts')), undefined);
    assert.equal(innermostHolding(files, path.join(path.sep, 'elsewhere', 'x.ts')), undefined);
    assert.equal(innermostHolding(files, at('tasks')), at('tasks'));
  });
});
