import type { FileAuthor } from '../infra/git';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { matchFile, parse, type CodeOwnersEntry } from 'codeowners-utils';

/** A suggested reviewer with why; only users and teams with a GitHub name can be requested. */
export interface ReviewerSuggestion {
  kind: 'user' | 'team' | 'unresolved';
  /** '@login', '@org/team', or the git name / email when no GitHub login is known. */
  label: string;
  login?: string;
  team?: { org: string; slug: string };
  reasons: string[];
  ownedFiles: number;
  editedFiles: number;
}

export interface PrAuthor {
  email?: string;
  name?: string;
  login?: string;
}

export interface ReviewerInput {
  changedFiles: string[];
  owners?: CodeOwners;
  /** Each changed file's authors, newest first. */
  history: Map<string, FileAuthor[]>;
  author: PrAuthor;
  max: number;
}

// <id>+<login>@users.noreply.github.com (since 2017) or <login>@users.noreply.github.com; GHE uses its own host.
const NOREPLY = /^(?:\d+\+)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)@users\.noreply\.[a-z0-9.-]+$/i;

export function githubLoginFromEmail(email: string): string | undefined {
  return NOREPLY.exec(email.trim())?.[1];
}

interface Candidate extends ReviewerSuggestion {
  patterns: string[];
  edited: string[];
  latest: number;
}

function candidateFor(
  owner: string,
): Omit<Candidate, 'patterns' | 'edited' | 'latest' | 'reasons' | 'ownedFiles' | 'editedFiles'> {
  const team = /^@([^/\s]+)\/(\S+)$/.exec(owner);
  if (team) return { kind: 'team', label: owner, team: { org: team[1], slug: team[2] } };
  if (owner.startsWith('@')) return { kind: 'user', label: owner, login: owner.slice(1) };
  const login = githubLoginFromEmail(owner);
  return login ? { kind: 'user', label: `@${login}`, login } : { kind: 'unresolved', label: owner };
}

function isAuthor(author: PrAuthor, c: { login?: string; email?: string; name?: string }): boolean {
  const same = (a?: string, b?: string) => !!a && !!b && a.toLowerCase() === b.toLowerCase();
  const authorLogin = author.login ?? (author.email ? githubLoginFromEmail(author.email) : undefined);
  return same(authorLogin, c.login) || same(author.email, c.email) || (!c.login && same(author.name, c.name));
}

/**
 * Owners of the changed files (per CODEOWNERS, last matching rule wins) rank first by how many files they
 * own, then the files' most recent other authors by how many of the files they edited and how lately.
 */
export function suggestReviewers(input: ReviewerInput): ReviewerSuggestion[] {
  const byKey = new Map<string, Candidate>();
  const get = (key: string, make: () => ReturnType<typeof candidateFor>): Candidate => {
    let c = byKey.get(key);
    if (!c) {
      c = { ...make(), reasons: [], ownedFiles: 0, editedFiles: 0, patterns: [], edited: [], latest: 0 };
      byKey.set(key, c);
    }
    return c;
  };

  for (const file of input.changedFiles) {
    const rule = input.owners ? ownerRule(input.owners, file) : undefined;
    for (const owner of rule?.owners ?? []) {
      const shape = candidateFor(owner);
      if (
        isAuthor(input.author, {
          login: shape.login,
          email: owner.includes('@') && !owner.startsWith('@') ? owner : undefined,
        })
      )
        continue;
      const c = get((shape.login ? `@${shape.login}` : shape.label).toLowerCase(), () => shape);
      c.ownedFiles++;
      if (!c.patterns.includes(rule!.pattern)) c.patterns.push(rule!.pattern);
    }
    const seen = new Set<string>();
    for (const a of input.history.get(file) ?? []) {
      const login = githubLoginFromEmail(a.email);
      if (isAuthor(input.author, { login, email: a.email, name: a.name }) || /\[bot\]/i.test(a.name + a.email))
        continue;
      const key = (login ? `@${login}` : a.email || a.name).toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      const c = get(key, () =>
        login ? { kind: 'user', label: `@${login}`, login } : { kind: 'unresolved', label: a.name || a.email },
      );
      c.editedFiles++;
      c.edited.push(file);
      c.latest = Math.max(c.latest, a.time);
    }
  }

  const ranked = [...byKey.values()].sort(
    (a, b) =>
      b.ownedFiles - a.ownedFiles ||
      b.editedFiles - a.editedFiles ||
      b.latest - a.latest ||
      a.label.localeCompare(b.label),
  );
  return ranked.slice(0, Math.max(0, input.max)).map((c) => {
    const reasons: string[] = [];
    if (c.patterns.length) reasons.push(`owns ${c.patterns.join(', ')}`);
    if (c.editedFiles === 1) reasons.push(`edited ${c.edited[0]}`);
    else if (c.editedFiles > 1) reasons.push(`edited ${c.editedFiles} of the changed files`);
    if (c.kind === 'unresolved') reasons.push('no GitHub login known: mention them yourself');
    return {
      kind: c.kind,
      label: c.label,
      login: c.login,
      team: c.team,
      reasons,
      ownedFiles: c.ownedFiles,
      editedFiles: c.editedFiles,
    };
  });
}

/** Splits chosen reviewers the way the API wants them: user logins and team slugs. */
export function reviewerRequest(chosen: ReviewerSuggestion[]): { reviewers: string[]; team_reviewers: string[] } {
  return {
    reviewers: chosen.filter((r) => r.kind === 'user' && r.login).map((r) => r.login!),
    team_reviewers: chosen.filter((r) => r.kind === 'team' && r.team).map((r) => r.team!.slug),
  };
}

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
