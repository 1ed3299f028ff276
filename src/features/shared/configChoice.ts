// The pure part of choosing among several sandpiper.yaml files (no VS Code API, so the unit tier covers it).
import * as path from 'node:path';

/** Shallowest first, then by path: the order files are offered in and `noPrompt` takes the first of. */
export function byDepth(files: readonly string[]): string[] {
  const depth = (f: string) => f.split(path.sep).length;
  return [...files].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

/** The sandpiper.yaml whose folder holds `file` most closely, if any does. */
export function innermostHolding(files: readonly string[], file: string): string | undefined {
  const holding = files.filter((f) => {
    const rel = path.relative(path.dirname(f), file);
    return !!rel && !path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..';
  });
  return byDepth(holding).pop();
}
