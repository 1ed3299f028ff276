// Headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) on a code-server workbench.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { sleep } from '../../../src/core/errors';
import { processAlive, removeDir, repoRoot, type CodeServer } from './codeServer';

export interface OpenWorkbenchOptions {
  /** Folder to open (default: the server's workspace). */
  folder?: string;
  /** Extra workbench payload entries, e.g. [['extensionTestsPath', server.remoteUri(file)]]. */
  payload?: Array<[string, string]>;
  /** Functions exposed on window before the page loads (e.g. codeAutomationLog/codeAutomationExit). */
  exposeFunctions?: Record<string, (...args: any[]) => unknown>;
  /** Wait for the workbench shell (default true). */
  waitForWorkbench?: boolean;
  /** ms for the workbench to appear (default 60 s). */
  timeoutMs?: number;
  viewport?: { width: number; height: number };
  /** Forward the page's console to stderr (also SANDPIPER_E2E_VERBOSE=1). */
  logConsole?: boolean;
}

export interface Workbench {
  page: Page;
  context: BrowserContext;
  /** Browser main process id (or undefined if it could not be determined). */
  browserPid?: number;
  /** Closes the context, kills the browser's process group if still alive, removes the profile. Never throws. */
  close(): Promise<void>;
}

export const CHROMIUM_PATH = process.env.SANDPIPER_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider',
  '--metrics-recording-only',
  '--password-store=basic',
  '--use-mock-keychain',
  '--disable-dev-shm-usage',
];

/** PID of the browser main process using `profileDir` (found through /proc; Linux only). */
function findBrowserPid(profileDir: string): number | undefined {
  if (!existsSync('/proc')) return undefined;
  const needle = `--user-data-dir=${profileDir}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes(needle) && !args.some((a) => a.startsWith('--type='))) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  // Playwright starts the browser detached (its own process group) on POSIX; fall back to the pid.
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

export async function openWorkbench(server: CodeServer, opts: OpenWorkbenchOptions = {}): Promise<Workbench> {
  const profileDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandpiper-chromium-'));
  let context: BrowserContext | undefined;
  let browserPid: number | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      try {
        if (context) await Promise.race([context.close().catch(() => {}), sleep(10_000)]);
      } catch {
        /* ignore */
      }
      browserPid ??= findBrowserPid(profileDir);
      if (browserPid && (processAlive(browserPid) || processAlive(browserPid, true))) {
        kill(browserPid, 'SIGTERM');
        const t = Date.now();
        while ((processAlive(browserPid) || processAlive(browserPid, true)) && Date.now() - t < 3000) await sleep(100);
        if (processAlive(browserPid) || processAlive(browserPid, true)) kill(browserPid, 'SIGKILL');
      }
      await removeDir(profileDir);
    })());

  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      ignoreDefaultArgs: ['--headless'],
      viewport: opts.viewport ?? { width: 1400, height: 900 },
      env: { ...process.env, HOME: profileDir } as Record<string, string>,
      timeout: 60_000,
    });
    browserPid = findBrowserPid(profileDir);
    const page = context.pages()[0] ?? (await context.newPage());
    if (opts.logConsole || process.env.SANDPIPER_E2E_VERBOSE) {
      page.on('console', (m) => process.stderr.write(`[browser:${m.type()}] ${m.text()}\n`));
      page.on('pageerror', (e) => process.stderr.write(`[browser:pageerror] ${e.message}\n`));
    }
    for (const [name, fn] of Object.entries(opts.exposeFunctions ?? {})) await page.exposeFunction(name, fn);
    const timeout = opts.timeoutMs ?? 60_000;
    await page.goto(server.workbenchUrl({ folder: opts.folder, payload: opts.payload }), {
      timeout,
      waitUntil: 'domcontentloaded',
    });
    if (opts.waitForWorkbench !== false) {
      await page.locator('.monaco-workbench').first().waitFor({ state: 'visible', timeout });
      await page
        .locator('.part.activitybar')
        .first()
        .waitFor({ state: 'visible', timeout })
        .catch(() => {});
    }
    return { page, context, browserPid, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Runs a command through the command palette: F1, type its title, Enter. */
export async function runCommand(page: Page, title: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  // A limit, not a speed check: on a loaded machine the palette lists a contributed command late (seen > 15 s).
  const timeout = opts.timeoutMs ?? 30_000;
  const input = page.locator('.quick-input-widget .quick-input-box input');
  // Focus the workbench first so F1 reaches it.
  await page
    .locator('.monaco-workbench')
    .first()
    .click({ position: { x: 5, y: 5 }, force: true, timeout })
    .catch(() => {});
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 3000 });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
  await input.fill(`>${title}`);
  // Wait until the palette shows the command (extension commands may still be registering).
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout });
  const exact = page.locator('.quick-input-widget .monaco-list-row').filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(title)}\\s*$`) }),
  });
  if ((await exact.count()) > 0) await exact.first().click();
  else await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout }).catch(() => {});
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Waits for a notification toast whose text matches and returns its locator. */
export async function waitForNotification(page: Page, text: RegExp | string, opts: { timeoutMs?: number } = {}) {
  const toast = page
    .locator('.notification-toast, .notifications-toasts .notification-list-item')
    .filter({ hasText: text })
    .first();
  await toast.waitFor({ state: 'visible', timeout: opts.timeoutMs ?? 20_000 });
  return toast;
}

/** Waits for an activity-bar icon (view container) whose aria-label starts with / matches `title`. */
export async function waitForActivityBarIcon(page: Page, title: string | RegExp, opts: { timeoutMs?: number } = {}) {
  const pattern = typeof title === 'string' ? new RegExp(`^${escapeRegExp(title)}`) : title;
  const icon = page.locator('.part.activitybar .action-item .action-label[aria-label]');
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const n = await icon.count();
    for (let i = 0; i < n; i++) {
      const el = icon.nth(i);
      const label = (await el.getAttribute('aria-label').catch(() => null)) ?? '';
      if (pattern.test(label) && (await el.isVisible().catch(() => false))) return el;
    }
    if (Date.now() > deadline) throw new Error(`activity bar icon ${title} did not appear`);
    await sleep(250);
  }
}

/** Saves a full-page screenshot to <repo>/test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(repoRoot(), 'test-results');
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file });
  // SANDPIPER_DOCS_SCREENSHOTS=1: the README's pictures are refreshed from the e2e run (docs/images/).
  if (process.env.SANDPIPER_DOCS_SCREENSHOTS === '1') {
    await fs.mkdir(path.join(repoRoot(), 'docs', 'images'), { recursive: true });
    await fs.copyFile(file, path.join(repoRoot(), 'docs', 'images', path.basename(file)));
  }
  return file;
}
