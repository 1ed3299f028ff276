// What a person does in the workbench, step by step, for the long walks (the tour): open a file at a line, replace a
// line, answer quick picks, follow a page the workbench opens, reload a page until it shows something.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { eventually } from '../../support/wait';
import { runCommand } from './browser';

export async function visible(locator: Locator, timeout: number): Promise<boolean> {
  return locator.waitFor({ state: 'visible', timeout }).then(
    () => true,
    () => false,
  );
}

export function quickInput(page: Page): Locator {
  return page.locator('.quick-input-widget');
}

/** The text of the open quick pick (for a failure's message). */
export async function quickInputText(page: Page): Promise<string> {
  const widget = quickInput(page);
  const title = await widget
    .locator('.quick-input-title')
    .innerText()
    .catch(() => '');
  const rows = await widget
    .locator('.monaco-list-row')
    .allInnerTexts()
    .catch(() => []);
  return `${title} [${rows.join(' | ')}]`.replace(/\s+/g, ' ');
}

/** Waits for a quick pick whose title matches, and returns its rows. */
export async function waitForQuickPick(page: Page, title: RegExp, timeoutMs = 60_000): Promise<Locator> {
  await quickInput(page)
    .locator('.quick-input-title', { hasText: title })
    .first()
    .waitFor({ state: 'visible', timeout: timeoutMs })
    .catch(async (err: Error) => {
      err.message += ` (quick input shows: ${await quickInputText(page)})`;
      throw err;
    });
  return quickInput(page).locator('.monaco-list-row');
}

/** Types `filter` into the open quick pick, waits for a row whose label matches `label` and clicks it. */
export async function pick(page: Page, filter: string, label = new RegExp(escape(filter)), timeoutMs = 30_000) {
  const input = quickInput(page).locator('.quick-input-box input');
  await input.fill(filter);
  const match = quickInput(page)
    .locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: label }) })
    .first();
  if (!(await visible(match, timeoutMs))) assert.fail(`no quick pick row ${label}: ${await quickInputText(page)}`);
  await match.click();
}

/** Whether the (first) row of a multi-select quick pick is checked. */
export async function isChecked(row: Locator): Promise<boolean> {
  return row
    .first()
    .evaluate(
      (el) =>
        (el.getAttribute('aria-checked') ??
          (el.querySelector('input[type=checkbox]') as HTMLInputElement | null)?.checked?.toString()) === 'true',
    );
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Go to File, then Go to Line, as a person does. */
export async function openAtLine(page: Page, file: string, line: number): Promise<void> {
  await runCommand(page, 'Go to File...');
  await page.keyboard.type(file);
  await page
    .locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(file) })
    .first()
    .waitFor({ state: 'visible', timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: path.basename(file) }).waitFor({ state: 'visible', timeout: 30_000 });
  await runCommand(page, 'Go to Line/Column...');
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
}

/** Replaces the line the cursor is on (after its indentation) with `text` and saves. */
export async function replaceLineAndSave(page: Page, text: string): Promise<void> {
  await page.locator('.editor-instance .monaco-editor textarea').first().focus();
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  // One insertion: typing would auto-close quotes and brackets.
  await page.keyboard.insertText(text);
  await page.keyboard.press('Control+S');
  await page.locator('.tab.active.dirty').waitFor({ state: 'detached', timeout: 30_000 });
}

/**
 * Waits for the page `trigger` makes the workbench open (Open in Browser). A browser may hold back a window opened
 * after an await; the workbench then asks, and the dialog is accepted. `onDialog` may take a picture first.
 */
export async function followOpenedPage(
  page: Page,
  context: BrowserContext,
  trigger: () => Promise<void>,
  o: { timeoutMs?: number; onDialog?: () => Promise<unknown> } = {},
): Promise<Page> {
  const timeoutMs = o.timeoutMs ?? 90_000;
  const opened = context.waitForEvent('page', { timeout: timeoutMs });
  const got: { page?: Page } = {};
  void opened.then((p) => (got.page = p)).catch(() => undefined);
  await trigger();
  const dialog = page.locator('.monaco-dialog-box');
  const error = page.locator('.notification-toast').filter({ has: page.locator('.codicon-error') });
  const deadline = Date.now() + timeoutMs;
  while (!got.page) {
    if (
      await error
        .first()
        .isVisible()
        .catch(() => false)
    )
      assert.fail(`the workbench reported: ${(await error.first().innerText()).replace(/\s+/g, ' ')}`);
    if (await dialog.isVisible().catch(() => false)) {
      await o.onDialog?.();
      await dialog
        .locator('.monaco-button', { hasText: /^(Open|Allow)$/ })
        .first()
        .click();
    }
    if (Date.now() > deadline) assert.fail(`no page opened within ${timeoutMs / 1000} s`);
    await page.waitForTimeout(250);
  }
  await got.page.waitForLoadState('domcontentloaded');
  return got.page;
}

/** Reloads `page` until its text matches (the service may be restarting). */
export async function untilPageShows(page: Page, text: RegExp, timeoutMs: number): Promise<void> {
  await eventually(
    `the page ${page.url()} to show ${text.source}`,
    async () => {
      const body = await page
        .locator('body')
        .innerText()
        .catch(() => '');
      if (text.test(body)) return true;
      await page.reload().catch(() => undefined);
      return false;
    },
    timeoutMs,
    1000,
  );
}

/** A notification toast with this text, or its row in the notification centre (a toast hides after a while). */
export function notification(page: Page, text: RegExp): Locator {
  return page.locator('.notification-toast, .notifications-center .notification-list-item').filter({ hasText: text });
}
