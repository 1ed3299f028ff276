// The steps of the Todo tour (test/e2e/tour.e2e.test.ts) as a person does them in the workbench: each asserts what
// the screen shows and saves its pictures; a failure names the step and leaves a picture of that moment.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import type { Kube } from '../../../src/core/infra/kube/client';
import { sleep } from '../../../src/core/errors';
import { eventually } from '../../support/wait';
import { runCommand, waitForActivityBarIcon, waitForNotification, type Workbench } from './browser';
import { seriesScreenshot } from './screenshots';
import { request, runningIn, type Staging } from './tourCluster';
import type { TourWorkspace } from './tourWorkspace';
import {
  followOpenedPage,
  isChecked,
  notification,
  openAtLine,
  pick,
  quickInput,
  quickInputText,
  replaceLineAndSave,
  untilPageShows,
  visible,
  waitForQuickPick,
} from './workbenchActions';

/** The handler file the tour edits, and the lines it changes (found by their text: the example may move them). */
export const ROUTES = 'tasks/src/routes.ts';
export const CREATE_LINE = 'const task = await store.create(titleOf(await readJson(req)));';
/** The tour's change: new titles start with a capital letter. */
export const CAPITALIZED_LINE =
  'const task = await store.create(titleOf(await readJson(req)).replace(/^./, (c) => c.toUpperCase()));';
export const LIST_LINE = ".on('GET', '/tasks', async (_req, res) => sendJson(res, 200, await store.list()))";
/** The bad canary's change: listing fails. */
export const BROKEN_LIST_LINE =
  ".on('GET', '/tasks', async (_req, res) => sendJson(res, 500, { error: 'broken on purpose' }))";

export interface TourContext {
  bench: Workbench;
  kube: Kube;
  ws: TourWorkspace;
  staging: Staging;
  /** The environment the tour creates. */
  namespace: string;
  series: string;
}

export class TourSteps {
  readonly page: Page;
  /** The Todo page of the env that Open in Browser opened. */
  todoPage?: Page;

  constructor(readonly o: TourContext) {
    this.page = o.bench.page;
    // No action waits forever: a step that cannot go on fails with its picture (limits, not speed checks).
    o.bench.context.setDefaultTimeout(60_000);
  }

  shot(name: string, page: Page = this.page): Promise<string> {
    return seriesScreenshot(page, this.o.series, name);
  }

  /** Runs one step; a failure names it and leaves a picture of the screen at that moment. */
  async step<T>(name: string, body: (page: Page) => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      const result = await body(this.page);
      console.log(`[tour] ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return result;
    } catch (err) {
      await this.shot(`failed-${name}`).catch(() => undefined);
      (err as Error).message = `step "${name}" failed: ${(err as Error).message}`;
      throw err;
    }
  }

  /** 1-based line of `text` in a workspace file. */
  lineOf(file: string, text: string): number {
    const lines = fs.readFileSync(path.join(this.o.ws.dir, file), 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes(text));
    assert.ok(i >= 0, `${file} has no line "${text}" (the example changed: update the tour)`);
    return i + 1;
  }

  /** Waits until the watch task's bundle of tasks holds `text` (or no longer holds it). */
  async bundleHas(text: string, present = true): Promise<void> {
    const bundle = path.join(this.o.ws.dir, 'tasks', 'dist', 'server.js');
    await eventually(
      `tasks/dist/server.js ${present ? 'to hold' : 'to drop'} ${JSON.stringify(text)} (the watch task rebuilds it)`,
      () => fs.existsSync(bundle) && fs.readFileSync(bundle, 'utf8').includes(text) === present,
      120_000,
      500,
    );
  }

  createEnvironment(): Promise<void> {
    const { namespace } = this.o;
    return this.step('01-create', async (page) => {
      await runCommand(page, 'Sandpiper: Create Ephemeral Environment');
      // The workspace holds one sandpiper.yaml per service folder and no editor is open: the command asks which.
      await waitForQuickPick(page, /which service folder/i);
      await this.shot('01-create-which-folder');
      await pick(page, 'tasks', /(^|\/)tasks\s*$/);
      const deps = await waitForQuickPick(page, /Dependencies to copy/);
      await deps.first().waitFor({ state: 'visible' });
      const checked = async (name: string) =>
        isChecked(deps.filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${name}\\s*$`) }) }));
      assert.equal(await checked('db'), true, `db is copied (sandpiper.yaml): ${await quickInputText(page)}`);
      assert.equal(await checked('search'), false, `search is shared (sandpiper.yaml): ${await quickInputText(page)}`);
      await this.shot('01-create-dependencies');
      await page.keyboard.press('Enter');
      await waitForQuickPick(page, /Time to live/);
      await page.keyboard.press('Enter');

      const ready = notification(page, new RegExp(`Environment ${namespace} is ready`)).first();
      const failed = page
        .locator('.notification-toast')
        .filter({ hasText: /failed|Cannot|error/i })
        .first();
      const progress = page
        .locator('.notification-toast')
        .filter({ hasText: /Creating environment/ })
        .first();
      let progressShot = false;
      const deadline = Date.now() + 420_000;
      while (!(await ready.isVisible().catch(() => false))) {
        if (await failed.isVisible().catch(() => false))
          assert.fail(`creating the environment failed: ${(await failed.innerText()).replace(/\s+/g, ' ')}`);
        if (!progressShot && (await progress.isVisible().catch(() => false))) {
          await page.waitForTimeout(600); // the toast slides in; let it settle for the picture
          await this.shot('01-creating');
          progressShot = true;
        }
        if (Date.now() > deadline) assert.fail(`no "Environment ${namespace} is ready" after 420 s`);
        await page.waitForTimeout(250);
      }
      assert.match(await ready.innerText(), /search shared, db copy/);
      await this.shot('01-environment-ready');
    });
  }

  openTodoPage(): Promise<void> {
    return this.step('02-open-in-browser', async (page) => {
      const ready = notification(page, new RegExp(`Environment ${this.o.namespace} is ready`)).first();
      const button = ready.locator('.monaco-button', { hasText: 'Open in Browser' });
      const opened = await followOpenedPage(page, this.o.bench.context, async () => {
        if (await button.isVisible().catch(() => false)) await button.click();
        else await runCommand(page, 'Sandpiper: Open in Browser');
        // The environment runs tasks and its copy of db: which one to open is asked, the env's own first.
        const which = quickInput(page).locator('.quick-input-title', { hasText: /Open in Browser: service/ });
        if (await visible(which, 10_000)) await pick(page, 'tasks', /^\s*tasks\s*$/);
      });
      this.todoPage = opened;
      await untilPageShows(opened, /Todo/, 60_000);
      await opened.getByLabel('New task').waitFor({ state: 'visible', timeout: 30_000 });
      console.log(`[tour] Open in Browser → ${opened.url()}`);
      await this.shot('02-todo-page', opened);
    });
  }

  /** Types a task into the opened page and waits for the list to show `shown`. */
  async addTaskInPage(title: string, shown: RegExp): Promise<void> {
    const page = this.todoPage!;
    await page.getByLabel('New task').fill(title);
    await page.getByRole('button', { name: 'Add' }).click();
    await page
      .getByRole('list', { name: 'Tasks' })
      .getByText(shown)
      .first()
      .waitFor({ state: 'visible', timeout: 30_000 })
      .catch(async (err: Error) => {
        err.message += `; the page shows: ${(await page.locator('body').innerText()).replace(/\s+/g, ' ')}`;
        throw err;
      });
  }

  /** The staging Todo page through the gateway, with the credentials a browser would ask for. */
  stagingThroughGateway(): Promise<void> {
    return this.step('04-staging-gateway', async () => {
      const { user, password, url } = this.o.staging;
      const page = await this.o.bench.context.newPage();
      try {
        await page.setExtraHTTPHeaders({
          authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        });
        await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
        await page.getByLabel('New task').waitFor({ state: 'visible', timeout: 30_000 });
        await this.shot('04-staging-through-gateway', page);
      } finally {
        await page.close();
      }
      await this.page.bringToFront();
    });
  }

  /** Tasks: Run Task → watch, as a person starts the example's build in watch mode. */
  runWatchTask(): Promise<void> {
    return this.step('05-watch-task', async (page) => {
      await runCommand(page, 'Tasks: Run Task');
      const rows = quickInput(page).locator('.monaco-list-row');
      const watch = rows.filter({ has: page.locator('.label-name', { hasText: /^\s*watch\s*$/ }) }).first();
      if (!(await visible(watch, 60_000))) assert.fail(`Run Task offers no "watch": ${await quickInputText(page)}`);
      await watch.click();
      const { dir } = this.o.ws;
      await eventually('the watch task to run', () => runningIn(dir, /build\.mjs --watch/), 120_000, 500);
      // The task runs without showing its terminal (the newest, so the one focused); a person looks at it once.
      await runCommand(page, 'Terminal: Focus Terminal');
      const built = page
        .locator('.part.panel .xterm-rows')
        .getByText(/\[watch\] build finished/)
        .first();
      if (!(await visible(built, 120_000)))
        assert.fail(
          `the watch task's terminal shows no build of tasks: ${await TourSteps.text(page.locator('.part.panel'))}`,
        );
      await this.shot('05-watch-task');
    });
  }

  /** Edits the create handler (new titles capitalized) and waits until the env serves the edit. */
  editCreateHandler(): Promise<void> {
    return this.step('05-edit', async (page) => {
      await openAtLine(page, ROUTES, this.lineOf(ROUTES, CREATE_LINE));
      await replaceLineAndSave(page, CAPITALIZED_LINE);
      await this.shot('05-edited-routes-ts');
      await this.bundleHas('toUpperCase()');
      // The sync sends tasks/dist/ into the container, node --watch restarts on it: ask until the edit answers.
      const api = new URL('tasks', this.todoPage!.url()).href;
      let tries = 0;
      await eventually(
        `the env to answer POST ${api} with a capitalized title`,
        async () => {
          const r = await request(api, { method: 'POST', body: { title: `edit served ${++tries}` } });
          return r.status === 201 && /"Edit served \d+"/.test(r.text);
        },
        120_000,
        2000,
      );
      await this.todoPage!.reload();
      await this.addTaskInPage('buy oat milk', /^Buy oat milk$/);
      await this.shot('05-edit-served', this.todoPage!);
      await page.bringToFront();
    });
  }

  /** A breakpoint on the edited line, the dynamic debug configuration of the env, a request held there. */
  debugCreateHandler(): Promise<void> {
    const { namespace } = this.o;
    return this.step('06-debug', async (page) => {
      const line = this.lineOf(ROUTES, CAPITALIZED_LINE);
      await openAtLine(page, ROUTES, line);
      await runCommand(page, 'Debug: Toggle Breakpoint');
      await page.locator('.codicon-debug-breakpoint').first().waitFor({ state: 'visible', timeout: 15_000 });
      await runCommand(page, 'View: Show Run and Debug');
      await runCommand(page, 'Debug: Select and Start Debugging');
      const rows = quickInput(page).locator('.monaco-list-row');
      const name = new RegExp(`Sandpiper: tasks in ${namespace}`);
      const config = rows.filter({ hasText: name }).first();
      if (!(await visible(config, 5000))) {
        const provider = rows.filter({ hasText: /^\s*Sandpiper/ }).first();
        if (!(await visible(provider, 30_000)))
          assert.fail(`no Sandpiper configurations: ${await quickInputText(page)}`);
        await provider.click();
        if (!(await visible(config, 60_000))) assert.fail(`no "${name.source}": ${await quickInputText(page)}`);
      }
      await this.shot('06-debug-configuration');
      await config.click();
      await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 90_000 });

      const api = new URL('tasks', this.todoPage!.url()).href;
      const { answer: held } = await this.requestUntilPaused(() =>
        request(api, { method: 'POST', body: { title: 'paused in routes.ts' }, timeoutMs: 300_000 }),
      );
      await page.locator('.tab.active', { hasText: 'routes.ts' }).waitFor({ state: 'visible', timeout: 30_000 });
      const activeLine = await page.locator('.editor-instance .active-line-number').first().innerText();
      assert.equal(activeLine.trim(), String(line), `the editor shows the paused line ${line} of routes.ts`);
      const stack = page.locator('.debug-call-stack .monaco-list-row', { hasText: 'routes.ts' }).first();
      assert.ok(await visible(stack, 30_000), 'the call stack shows routes.ts');
      await page.waitForTimeout(500);
      await this.shot('06-paused-in-routes-ts');
      await runCommand(page, 'Debug: Continue');
      const answer = await Promise.race([held, sleep(60_000).then(() => undefined)]);
      assert.ok(answer, 'the held request is answered within 60 s of Continue');
      assert.equal(answer.status, 201, answer.text);
      assert.match(answer.text, /"Paused in routes\.ts"/);
      await runCommand(page, 'Remove All Breakpoints');
      await runCommand(page, 'Debug: Disconnect');
      await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 60_000 });
    });
  }

  /**
   * Sends `send` until the debugger shows "Paused on breakpoint" (js-debug binds the breakpoint a moment after the
   * session appears, and a request before that runs through); returns the request that is held.
   */
  private async requestUntilPaused<T>(send: () => Promise<T>): Promise<{ answer: Promise<T> }> {
    const paused = this.page.getByText(/paused on breakpoint/i).first();
    const start = () => {
      const r = { settled: false, answer: send() };
      void r.answer.then(() => (r.settled = true));
      return r;
    };
    let current = start();
    const deadline = Date.now() + 120_000;
    while (!(await visible(paused, 2000))) {
      if (Date.now() > deadline) assert.fail('no "Paused on breakpoint" after 120 s of requests');
      if (current.settled) current = start();
    }
    // Wrapped: an async function returning the promise itself would wait for the answer, which waits for Continue.
    return { answer: current.answer };
  }

  openLogs(): Promise<void> {
    const { namespace } = this.o;
    return this.step('07-logs', async (page) => {
      await runCommand(page, 'Sandpiper: Open Logs');
      if (await visible(quickInput(page).locator('.quick-input-box input'), 10_000))
        await pick(page, namespace, new RegExp(namespace));
      const output = page.locator('.part.panel .monaco-editor .view-lines');
      await output.first().waitFor({ state: 'visible', timeout: 60_000 });
      // A request made now: its line is the newest, where the output channel scrolls. (Monaco shows spaces as
      // no-break spaces, which \s matches.)
      const api = new URL('tasks', this.todoPage!.url()).href;
      const r = await request(api, { method: 'POST', body: { title: 'find me in the logs' } });
      assert.equal(r.status, 201, r.text);
      const line = output.getByText(/\[tasks-[^\]]+\].*POST\s\/tasks\s201/).last();
      if (!(await visible(line, 60_000)))
        assert.fail(`no "POST /tasks 201" line of a tasks pod: ${(await output.first().innerText()).slice(-2000)}`);
      assert.match(await page.locator('.part.panel').first().innerText(), /Sandpiper Logs: /);
      await this.shot('07-logs');
    });
  }

  /** Source Control: the edit committed with a message, as a person does before a pull request. */
  async commit(message: string): Promise<void> {
    const page = this.page;
    // The icon's badge (pending changes) lies over it: the click goes through it.
    await (await waitForActivityBarIcon(page, 'Source Control', { timeoutMs: 60_000 })).click({ force: true });
    const box = page.locator('.scm-editor .monaco-editor textarea, .scm-input .monaco-editor textarea').first();
    await box.waitFor({ state: 'visible', timeout: 60_000 });
    await box.focus();
    await page.keyboard.insertText(message);
    await this.shot('12-commit');
    await page.keyboard.press('Control+Enter');
    await eventually(
      `the commit "${message}"`,
      () => this.o.ws.git('log', '-1', '--format=%s').trim() === message,
      60_000,
      500,
    );
  }

  draftPullRequest(): Promise<void> {
    return this.step('13-pull-request', async (page) => {
      await this.commit('Capitalize new task titles');
      await runCommand(page, 'Sandpiper: Create Draft Pull Request');
      await waitForQuickPick(page, /Draft Pull Request \(1\/\d\): title/);
      await page.keyboard.press('Enter');
      const rows = await waitForQuickPick(page, /Draft Pull Request \(\d\/\d\): reviewers/);
      await rows.first().waitFor({ state: 'visible' });
      await this.shot('13-pr-reviewers');
      await page.keyboard.press('Enter');
      await waitForNotification(page, /Draft pull request #\d+ created/, { timeoutMs: 90_000 });
      await this.shot('13-pr-created');
    });
  }

  deleteEnvironment(): Promise<void> {
    const { namespace } = this.o;
    return this.step('14-delete', async (page) => {
      await runCommand(page, 'Sandpiper: Delete Environment');
      await waitForQuickPick(page, /Delete Environment/);
      await pick(page, namespace, new RegExp(namespace));
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: 30_000 });
      await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
      await waitForNotification(page, new RegExp(`Deleted environment ${namespace}`), { timeoutMs: 120_000 });
      await this.shot('14-deleted');
    });
  }

  /** A locator's text in one line, for messages. */
  static async text(locator: Locator): Promise<string> {
    return (
      await locator
        .first()
        .innerText()
        .catch(() => '')
    ).replace(/\s+/g, ' ');
  }
}
