/**
 * `hopwatch report captures/demo-fabric.pcap --html OUT.html` opened from the file in Debian's
 * chromium (headless, puppeteer-core) with every network request refused: the same views as
 * the live console, from the data embedded in the page. Skipped with a message when chromium
 * or the build is missing, unless HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'puppeteer-core';
import { built, CLI, ROOT } from './serve-process';
import { openPage, CHROMIUM, type PageLog } from './browser';

const LABELS = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'captures/demo-fabric.labels.json'), 'utf8'),
) as {
  tolerance: { startNs: number };
  anomalies: { type: string; start: number; aggressors?: { srcPort: number }[] }[];
};
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const available = built && fs.existsSync(CHROMIUM);
if (!available && required) throw new Error(`report browser tests need ${CHROMIUM} and a build`);
const maybe = available ? describe : describe.skip;
if (!available)
  test('report browser tests skipped', () =>
    console.log(`skipped: needs ${CHROMIUM} (deploy/services.sh install browser) and npx tsc -b`));

const cli = (args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

maybe('hopwatch report --html opened offline in chromium', () => {
  let dir: string;
  let file: string;
  let browser: Browser;
  let page: Page;
  let log: PageLog;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-report-'));
    file = path.join(dir, 'demo report.html');
    const r = cli(['report', 'captures/demo-fabric.pcap', '--html', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Report of 2081 records, 5 anomalies written to/);
    // nothing left behind: no temporary file beside it
    expect(fs.readdirSync(dir)).toEqual(['demo report.html']);
    ({ browser, page, log } = await openPage(
      `file://${file}`,
      { width: 1200, height: 900 },
      'UTC',
      true,
    ));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('one file: the script, styles and data inside it', () => {
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script src=|<link rel="stylesheet"/);
    expect(html).toContain('window.HOPWATCH_REPORT = ');
    expect(html).toContain('<title>hopwatch report: demo-fabric.pcap</title>');
  });

  test('fabric, heatmap and anomalies load with no error and no network', async () => {
    await page.waitForSelector('#fabric svg g.switch');
    expect(await page.$eval('#status', (s) => s.textContent)).toContain(
      '2026-01-01 00:00:00.000015181',
    );
    expect(await page.$eval('#status', (s) => s.textContent)).toContain('(report)');
    await page.click('#tabs button[data-view=heatmap]');
    await page.waitForSelector('#heatmap rect.cell');
    const rows = await page.$$eval('#heatmap text.row-label', (t) =>
      t.map((x) => x.getAttribute('data-hop')),
    );
    const slow = await page.$$eval('#slowest tbody tr', (t) =>
      t.map((r) =>
        [...r.cells]
          .slice(0, 3)
          .map((c) => c.textContent)
          .join('/'),
      ),
    );
    expect(rows.length).toBeGreaterThan(20);
    expect([...rows].sort()).toEqual([...slow].sort());
    await page.click('#tabs button[data-view=anomalies]');
    await page.waitForSelector('.anomaly-row');
    const shown = await page.$$eval('.anomaly-row', (r) =>
      r.map((x) => x.getAttribute('data-type')),
    );
    for (const l of LABELS.anomalies) expect(shown).toContain(l.type);
    expect(log.errors).toEqual([]);
  });

  test('the microburst drill-down and its aggressor flows work from the file', async () => {
    await page.click('#tabs button[data-view=anomalies]');
    await page.waitForSelector('.anomaly-row');
    await page.$eval('.anomaly-row[data-type=microburst]', (r) => (r as HTMLElement).click());
    await page.waitForSelector('#drill .burst-chart svg');
    expect(await page.$$eval('#drill circle.pt.occupancy', (c) => c.length)).toBeGreaterThan(100);
    const agg = await page.$$eval('#drill tr.flow-row.aggressor a.flow', (a) =>
      a.map((x) => x.textContent ?? ''),
    );
    const labelled = LABELS.anomalies.find((l) => l.type === 'microburst')?.aggressors ?? [];
    expect(agg).toHaveLength(labelled.length);
    for (const f of labelled) expect(agg.some((t) => t.includes(`:${f.srcPort} →`))).toBe(true);
    await page.click('#drill tr.flow-row.aggressor a.flow');
    await page.waitForSelector('#flow-result .flow-chart svg');
    // a flow the report does not hold says so
    await page.evaluate(() => {
      const f = document.getElementById('flow-form') as HTMLFormElement;
      (f.elements.namedItem('src') as HTMLInputElement).value = '192.0.2.1';
      f.requestSubmit();
    });
    await page.waitForFunction(() =>
      /not in the report/.test(document.getElementById('flow-result')?.textContent ?? ''),
    );
    await page
      .$eval('.anomaly-row[data-type=microloop]', (r) => (r as HTMLElement).click())
      .catch(() => undefined);
    await page.click('#tabs button[data-view=anomalies]');
    await page.$eval('.anomaly-row[data-type=microloop]', (r) => (r as HTMLElement).click());
    await page.waitForSelector('#drill .loop-fabric line.hl.cycle');
    expect(log.errors).toEqual([]);
  });

  test('usage errors: no --html, a capture that is not one', () => {
    expect(cli(['report', 'captures/demo-fabric.pcap']).code).toBe(2);
    const bad = path.join(dir, 'bad.pcap');
    fs.writeFileSync(bad, 'not a capture at all');
    const r = cli(['report', bad, '--html', path.join(dir, 'x.html')]);
    expect(r.code).toBe(3);
    expect(fs.existsSync(path.join(dir, 'x.html'))).toBe(false);
  });
});
