import * as fs from 'node:fs/promises';
import * as path from 'node:path';

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
        singles.push({ path: rel, name: entry.name.replace(/\.[^.]+$/, ''), text: await fs.readFile(path.join(root, rel), 'utf8') });
      } else if (entry.isDir && TEMPLATE_FOLDER.test(entry.name)) {
        for (const file of await entries(path.join(root, rel))) {
          if (file.isDir || !/\.(md|txt)$/i.test(file.name)) continue;
          const fileRel = `${rel}/${file.name}`;
          multiples.push({ path: fileRel, name: file.name.replace(/\.[^.]+$/, ''), text: await fs.readFile(path.join(root, fileRel), 'utf8') });
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
