import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

// The loader validates with code compiled from the schema (scripts/schemaValidator.mjs): a schema edit must not
// go out with the previous validator.
describe('compiled schema validator', () => {
  it('is compiled from the current resources/sandpiper.schema.json', function () {
    this.timeout(30_000);
    const check = spawnSync(process.execPath, ['scripts/schemaValidator.mjs', '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stderr);
  });
});
