import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { matchFile, parse, type CodeOwnersEntry } from 'codeowners-utils';

/** GitHub's search order: the first CODEOWNERS found is the only one used. */
export const CODEOWNERS_LOCATIONS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'];

export interface CodeOwners {
  /** Relative path of the file read. */
  path: string;
  /** Entries as codeowners-utils returns them: last rule of the file first, so the first match wins. */
  entries: CodeOwnersEntry[];
}

export async function loadCodeOwners(root: string): Promise<CodeOwners | undefined> {
  for (const rel of CODEOWNERS_LOCATIONS) {
    let text: string;
    try {
      text = await fs.readFile(path.join(root, rel), 'utf8');
    } catch {
      continue;
    }
    return { path: rel, entries: parse(text.replace(/\r\n/g, '\n')) };
  }
  return undefined;
}

/** The rule that owns `file` (the last matching line of the file, as on GitHub), or undefined. */
export function ownerRule(owners: CodeOwners, file: string): CodeOwnersEntry | undefined {
  // A rule with no owners ("path/ " alone) deliberately un-owns the path; matchFile returns it too.
  return matchFile(file, owners.entries) ?? undefined;
}
