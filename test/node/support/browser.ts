/**
 * Headless Chromium for the browser tests: Debian's `chromium` (installed by
 * .ci/run when absent), driven by puppeteer-core, no browser download. Every
 * page it opens is offline but for the local server: any request that leaves
 * 127.0.0.1 is aborted and remembered, so a test can assert there was none.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { JWK } from 'jose';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface OfflinePage {
  page: Page;
  /** Requests the page tried to send anywhere but 127.0.0.1 (all aborted). */
  blocked: string[];
  /** Every request the page sent to the local server. */
  sent: { url: string; method: string; headers: Record<string, string>; body: string | undefined }[];
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The container has no user namespaces for Chromium's sandbox; the pages are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
}

export async function offlinePage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<OfflinePage> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const blocked: string[] = [];
  const sent: OfflinePage['sent'] = [];
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = new URL(request.url());
    const local = (url.protocol === 'http:' && url.hostname === '127.0.0.1') || url.protocol === 'data:' || url.protocol === 'blob:';
    if (!local) {
      blocked.push(request.url());
      void request.abort('internetdisconnected');
      return;
    }
    sent.push({ url: request.url(), method: request.method(), headers: request.headers(), body: request.postData() });
    void request.continue();
  });
  return { page, blocked, sent };
}

// The page's own globals, for the functions below that run inside it (this project's Node
// tsconfig has no DOM library: it would clash with the Workers types).
declare const document: { body: { innerText: string }; querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; click(): void }> };

/** The page's visible text. */
export const pageText = (page: Page): Promise<string> => page.evaluate(() => document.body.innerText);

/** Waits until the page shows every one of `texts`. */
export async function waitForText(page: Page, texts: string[], timeout = 30_000): Promise<void> {
  await page.waitForFunction((wanted: string[]) => wanted.every((t) => document.body.innerText.includes(t)), { timeout }, texts);
}

/** Clicks the first button, link or list item whose whole text is `text`; fails when there is none. */
export async function clickText(page: Page, text: string): Promise<void> {
  const clicked = await page.evaluate((wanted: string) => {
    const target = Array.from(document.querySelectorAll('button, a, li, span')).find((e) => e.textContent?.trim() === wanted);
    target?.click();
    return Boolean(target);
  }, text);
  if (!clicked) throw new Error(`nothing on the page reads "${text}"`);
}

/** Waits for every text; on a timeout, says what the page showed instead. */
export async function waitForTextOrShow(page: Page, texts: string[]): Promise<void> {
  try {
    await waitForText(page, texts);
  } catch (error) {
    throw new Error(`${(error as Error).message}: waiting for ${JSON.stringify(texts)}, the page shows:\n${(await pageText(page)).slice(0, 3000)}`);
  }
}

/** Clicks the link or button that reads `text`, once the page shows it (views render after their data arrives). */
export async function click(page: Page, text: string): Promise<void> {
  await waitForTextOrShow(page, [text]);
  const clicked = await page.evaluate((wanted: string) => {
    const target = Array.from(document.querySelectorAll('a, button')).find((e) => e.textContent?.trim() === wanted);
    target?.click();
    return Boolean(target);
  }, text);
  if (!clicked) await clickText(page, text);
}

/** Loads a private JWK into the console at `url` as `principal`, through its file input (the key file goes in `dir`). */
export async function signInConsole(page: OfflinePage, options: { url: string; dir: string; jwk: JWK; principal: string; tenant?: string }): Promise<void> {
  const { url, dir, jwk, principal, tenant = '' } = options;
  page.page.on('pageerror', (error) => console.error(`page error: ${String(error)}`));
  page.page.on('console', (message) => message.type() === 'error' && console.error(`page console: ${message.text()}`));
  page.page.on(
    'response',
    (response) => response.status() >= 400 && console.error(`page got ${response.status()} for ${response.request().method()} ${response.url()}`),
  );
  const file = join(dir, `${principal}.jwk`);
  writeFileSync(file, JSON.stringify(jwk));
  await page.page.goto(`${url}/console/`, { waitUntil: 'networkidle0' });
  await page.page.waitForSelector('input[type=file]');
  const input = await page.page.$('input[type=file]');
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(file);
  await page.page.type('input[name=principal]', principal);
  if (tenant) await page.page.type('input[name=tenant]', tenant);
  await click(page.page, 'Load key');
}
