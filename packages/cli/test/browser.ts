/**
 * Debian's chromium driven by puppeteer-core for the console and report tests: never a browser
 * download, the zone and window size chosen per page, and everything the page reports as an
 * error (console errors, uncaught exceptions, failed requests, HTTP errors) collected.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.HOPWATCH_CHROMIUM ?? '/usr/bin/chromium';

export interface PageLog {
  errors: string[];
}

export async function openPage(
  url: string,
  viewport: { width: number; height: number },
  timezone?: string,
  offline = false,
): Promise<{ browser: Browser; page: Page; log: PageLog }> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // root in CI containers has no user namespaces for the sandbox
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  const page = await browser.newPage();
  const log: PageLog = { errors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn')
      log.errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.errors.push(`page error: ${(e as Error).message}`));
  page.on('requestfailed', (r) =>
    log.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`),
  );
  page.on('response', (r) => {
    if (r.status() >= 400) log.errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  if (offline) {
    // a self-contained page asks for nothing but itself (and data: URLs)
    await page.setRequestInterception(true);
    page.on('request', (r) => {
      if (/^(file|data):/.test(r.url())) return void r.continue();
      log.errors.push(`network request from an offline page: ${r.url()}`);
      void r.abort();
    });
  }
  if (timezone) await page.emulateTimezone(timezone);
  await page.setViewport(viewport);
  await page.goto(url, { waitUntil: 'networkidle0' });
  return { browser, page, log };
}
