// Numbered screenshots of a walk through the product, for the test report and (on request) for the README.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './codeServer';

/**
 * Saves `<repo>/test-results/<series>/<name>.png`. With SANDPIPER_DOCS_SCREENSHOTS=1 it also copies the picture to
 * `<repo>/docs/images/<series>/<name>.png`, where the README shows it (refresh them by rerunning the test).
 */
export async function seriesScreenshot(page: Page, series: string, name: string): Promise<string> {
  const file = path.join(repoRoot(), 'test-results', series, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  // A failure's picture stays in test-results: the README shows the walk-through only.
  if (process.env.SANDPIPER_DOCS_SCREENSHOTS === '1' && !name.startsWith('failed-')) {
    const docs = path.join(repoRoot(), 'docs', 'images', series, path.basename(file));
    await fs.mkdir(path.dirname(docs), { recursive: true });
    await fs.copyFile(file, docs);
  }
  return file;
}
