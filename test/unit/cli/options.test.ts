import { strict as assert } from 'node:assert';
import { Command, CommanderError } from 'commander';
import { durationMs, durationText, parsedOption, percentages, wholeNumber } from '../../../src/cli/options';

/** A one-flag program that throws instead of exiting, as the CLI's does (main turns the error into exit 2). */
function parse(
  args: string[],
  option = parsedOption('--failure-limit <n>', 'failed analyses tolerated', wholeNumber(0)),
): unknown {
  const program = new Command('t')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .addOption(option);
  program.parse(args, { from: 'user' });
  return program.opts();
}

describe('CLI numeric and duration flags', () => {
  it('wholeNumber takes whole numbers in range and refuses the rest', () => {
    const limit = wholeNumber(0);
    assert.equal(limit('3'), 3);
    assert.equal(limit(' 0 '), 0);
    for (const junk of ['abc', '', '1.5', '-1', '2e3', '0x10', 'NaN', 'Infinity', '3abc', '99999999999999999999']) {
      assert.throws(() => limit(junk), /Use a whole number of 0 or more/, junk);
    }
    const tail = wholeNumber(-1);
    assert.equal(tail('-1'), -1);
    assert.throws(() => tail('-2'), /of -1 or more/);
    const port = wholeNumber(1, 65535);
    assert.equal(port('9229'), 9229);
    assert.throws(() => port('65536'), /from 1 to 65535/);
    assert.throws(() => port('0'), /from 1 to 65535/);
  });

  it('durationMs takes 30s, 2m, 1h30m and refuses junk and zero', () => {
    assert.equal(durationMs('30s'), 30_000);
    assert.equal(durationMs('1h30m'), 5_400_000);
    for (const junk of ['abc', '', '10', '5x', '0s', '-1m', '1.5h'])
      assert.throws(() => durationMs(junk), /Use a duration such as 30s/, junk);
    assert.equal(durationText('10s'), '10s');
    assert.throws(() => durationText('10 seconds'));
  });

  it('percentages takes a comma list from 0 to 100', () => {
    assert.deepEqual(percentages('10, 50,100'), [10, 50, 100]);
    for (const junk of ['10,abc', '', '101', '-5', '10,,50', '5%'])
      assert.throws(() => percentages(junk), /percentages from 0 to 100/, junk);
  });

  it('a junk value is a commander error that names the flag (exit 2 through main), never a NaN', () => {
    assert.deepEqual(parse(['--failure-limit', '2']), { failureLimit: 2 });
    assert.throws(
      () => parse(['--failure-limit', 'abc']),
      (err: unknown) =>
        err instanceof CommanderError &&
        err.code === 'commander.invalidArgument' &&
        /'--failure-limit <n>' argument 'abc' is invalid/.test(err.message),
    );
  });

  it('a default is parsed like a value and shown as written', () => {
    const option = parsedOption('--timeout <duration>', 'how long to wait', durationMs, '3m');
    assert.deepEqual(parse([], option), { timeout: 180_000 });
    assert.equal(option.defaultValueDescription, '3m');
  });
});
