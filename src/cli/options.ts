import { InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../core/config/types';

// The one parser of numeric and duration flags. Junk is refused by commander before the command runs
// ("option '--failure-limit <n>' argument 'abc' is invalid. …", exit 2): a NaN never reaches a canary.

/** A whole number in [min, max]. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const n = /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : NaN;
    if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
    const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(`Use a whole number ${range}.`);
  };
}

/** A duration such as 30s, 2m or 1h30m, in milliseconds (more than zero). */
export function durationMs(text: string): number {
  const ms = parseDuration(text.trim());
  if (!ms) throw new InvalidArgumentError('Use a duration such as 30s, 2m or 1h30m.');
  return ms;
}

/** A duration kept as written (a PromQL range such as 10s), once it is known to be one. */
export function durationText(text: string): string {
  durationMs(text);
  return text.trim();
}

/** A comma-separated list of traffic percentages, e.g. 10,50,100. */
export function percentages(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map((p) => (/^\d+(\.\d+)?$/.test(p) ? Number(p) : NaN));
  if (!parts.length || values.some((v) => !(v >= 0 && v <= 100))) {
    throw new InvalidArgumentError('Use percentages from 0 to 100 separated by commas, e.g. 10,50,100.');
  }
  return values;
}

/** An option parsed by `parse`, whose default (when given) is parsed too and shown as written. */
export function parsedOption<T>(
  flags: string,
  description: string,
  parse: (text: string) => T,
  fallback?: string,
): Option {
  const option = new Option(flags, description).argParser((text: string) => parse(text));
  return fallback === undefined ? option : option.default(parse(fallback), fallback);
}
