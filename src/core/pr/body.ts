import type { CommitInfo } from '../infra/git';
import type { LinkedIssue } from './draft';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { SandpiperConfig } from '../config/types';

/** What Sandpiper knows about the change's environment and results; every part is optional. */
export interface SandpiperSummary {
  environment?: { name: string; services: Array<{ name: string; detail?: string }> };
  tests?: Array<{ name: string; passed: number; failed: number; skipped?: number }>;
  canary?: { service?: string; verdict: string; step?: string; successRate?: number; p99LatencyMs?: number };
}

export interface BodyInput {
  template?: PullRequestTemplate;
  issue?: LinkedIssue;
  /** Newest first, as git log gives them. */
  commits: CommitInfo[];
  summary: SandpiperSummary;
}

const DEFAULT_TEMPLATE = '## Summary\n\n';
const COMMENT = /<!--[\s\S]*?-->/g;
const ISSUE_PLACEHOLDER =
  /^([ \t]*(?:[-*][ \t]+)?(?:closes|fixes|resolves)[ \t]*)(?:#[ \t]*(?:\d+|x+|issue|number|<[^>]*>)?)?[ \t]*$/im;
const ISSUE_HEADING = /^#{1,6}\s.*\b(issues?|tickets?|related|links?)\b.*$/im;
const SUMMARY_HEADING = /^#{1,6}\s.*\b(summary|description|what|changes|overview)\b.*$/im;

function issueLine(issue: LinkedIssue): string {
  return issue.kind === 'github' ? `Closes ${issue.reference}` : `Issue: ${issue.reference}`;
}

/** Inserts `text` after the heading that `heading` matches, when the section under it says nothing yet. */
function fillSection(body: string, heading: RegExp, text: string): string | undefined {
  const m = heading.exec(body);
  if (!m) return undefined;
  const start = m.index + m[0].length;
  const next = /^#{1,6}\s/m.exec(body.slice(start + 1));
  const end = next ? start + 1 + next.index : body.length;
  const section = body.slice(start, end);
  if (section.replace(COMMENT, '').trim()) return undefined;
  const trailing = section.replace(/\s+$/, '');
  return `${body.slice(0, start)}${trailing}\n\n${text}\n\n${body.slice(end).replace(/^\n+/, '')}`;
}

function withIssue(body: string, issue: LinkedIssue): string {
  if (ISSUE_PLACEHOLDER.test(body)) {
    return body.replace(
      ISSUE_PLACEHOLDER,
      (_m, lead: string) => `${lead.replace(/[ \t]+$/, '')} ${issue.kind === 'github' ? issue.reference : issue.key}`,
    );
  }
  return fillSection(body, ISSUE_HEADING, issueLine(issue)) ?? `${issueLine(issue)}\n\n${body}`;
}

function commitList(commits: CommitInfo[]): string {
  return [...commits]
    .reverse()
    .map((c) => `- ${c.subject}`)
    .join('\n');
}

function percent(x: number): string {
  return `${(x * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}

export function renderSandpiperSection(summary: SandpiperSummary): string {
  const lines = ['## Sandpiper', ''];
  const env = summary.environment;
  if (env) {
    lines.push(`- Environment: \`${env.name}\``);
    for (const s of env.services) lines.push(`  - ${s.name}${s.detail ? ` (${s.detail})` : ''}`);
  } else {
    lines.push('- Environment: none recorded for this branch');
  }
  for (const t of summary.tests ?? []) {
    const mark = t.failed ? '❌' : '✅';
    lines.push(
      `- Tests (${t.name}): ${mark} ${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`,
    );
  }
  const c = summary.canary;
  if (c) {
    const figures = [
      c.step ? `step ${c.step}` : undefined,
      c.successRate !== undefined ? `success rate ${percent(c.successRate)}` : undefined,
      c.p99LatencyMs !== undefined ? `p99 ${Math.round(c.p99LatencyMs)} ms` : undefined,
    ].filter(Boolean);
    lines.push(
      `- Canary${c.service ? ` (${c.service})` : ''}: ${c.verdict}${figures.length ? ` — ${figures.join(', ')}` : ''}`,
    );
  }
  if (!summary.tests?.length && !c) lines.push('- Tests and canary: no results recorded yet');
  return lines.join('\n');
}

/** The PR body: the template with the linked issue and the commits filled in, then the Sandpiper section. */
export function renderPullRequestBody(input: BodyInput): string {
  let body = (input.template?.text ?? DEFAULT_TEMPLATE).replace(/\r\n/g, '\n');
  if (input.issue) body = withIssue(body, input.issue);
  if (input.commits.length) body = fillSection(body, SUMMARY_HEADING, commitList(input.commits)) ?? body;
  return `${body.replace(/\s+$/, '')}\n\n${renderSandpiperSection(input.summary)}\n`;
}

/** A pull request template found in the repository. */
export interface PullRequestTemplate {
  /** Path relative to the repository root, with forward slashes. */
  path: string;
  /** Short name shown when choosing: the file name without extension. */
  name: string;
  text: string;
}

// GitHub looks in these folders, file names compared without regard to case.
const FOLDERS = ['.github', '', 'docs'];
const SINGLE_FILE = /^pull_request_template(\.md|\.txt)?$/i;
const TEMPLATE_FOLDER = /^pull_request_template$/i;

async function entries(dir: string): Promise<Array<{ name: string; isDir: boolean }>> {
  try {
    const list = await fs.readdir(dir, { withFileTypes: true });
    return list.map((e) => ({ name: e.name, isDir: e.isDirectory() })).sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return [];
  }
}

/**
 * Every template, the single-file ("default") ones first in GitHub's folder order, then the files of
 * PULL_REQUEST_TEMPLATE/ folders by name.
 */
export async function findPullRequestTemplates(root: string): Promise<PullRequestTemplate[]> {
  const singles: PullRequestTemplate[] = [];
  const multiples: PullRequestTemplate[] = [];
  for (const folder of FOLDERS) {
    for (const entry of await entries(path.join(root, folder))) {
      const rel = folder ? `${folder}/${entry.name}` : entry.name;
      if (!entry.isDir && SINGLE_FILE.test(entry.name)) {
        singles.push({
          path: rel,
          name: entry.name.replace(/\.[^.]+$/, ''),
          text: await fs.readFile(path.join(root, rel), 'utf8'),
        });
      } else if (entry.isDir && TEMPLATE_FOLDER.test(entry.name)) {
        for (const file of await entries(path.join(root, rel))) {
          if (file.isDir || !/\.(md|txt)$/i.test(file.name)) continue;
          const fileRel = `${rel}/${file.name}`;
          multiples.push({
            path: fileRel,
            name: file.name.replace(/\.[^.]+$/, ''),
            text: await fs.readFile(path.join(root, fileRel), 'utf8'),
          });
        }
      }
    }
  }
  return [...singles, ...multiples];
}

/** The template called `wanted` (by name or path, any case), or the default one. */
export function chooseTemplate(templates: PullRequestTemplate[], wanted?: string): PullRequestTemplate | undefined {
  if (wanted) {
    const w = wanted.toLowerCase();
    return templates.find((t) => t.name.toLowerCase() === w || t.path.toLowerCase() === w);
  }
  return templates[0];
}

/** The environment part of the PR's Sandpiper section: its namespace, the services and how each dependency is provided. */
export function environmentSummary(
  namespace: string,
  config?: SandpiperConfig,
): NonNullable<SandpiperSummary['environment']> {
  const services: Array<{ name: string; detail?: string }> = [];
  const seen = new Set<string>();
  for (const svc of Object.values(config?.services ?? {})) {
    services.push({ name: svc.name, detail: 'deployed from this branch' });
    seen.add(svc.name);
  }
  for (const svc of Object.values(config?.services ?? {})) {
    for (const [dep, mode] of Object.entries(svc.dependencies)) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      services.push({
        name: dep,
        detail: mode === 'copy' ? `copied from ${config!.baseline}` : `shared from ${config!.baseline}`,
      });
    }
  }
  return { name: namespace, services };
}
