/**
 * The web console in a real browser: Debian's chromium (/usr/bin/chromium, installed by
 * `deploy/services.sh install browser|all`), headless through puppeteer-core, against
 * `hopwatch serve` on a store holding captures/demo-fabric.pcap. Skipped with a message when
 * chromium or the build is missing, unless HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'puppeteer-core';
import { built, CLI, ROOT, startServe, type ServeProcess } from './serve-process';
import { openPage, CHROMIUM, type PageLog } from './browser';

const LABELS = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'captures/demo-fabric.labels.json'), 'utf8'),
) as {
  tolerance: { startNs: number };
  anomalies: { type: string; start: number; aggressors?: { srcPort: number }[] }[];
};
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const available = built && fs.existsSync(CHROMIUM);
if (!available && required) throw new Error(`console browser tests need ${CHROMIUM} and a build`);
const maybe = available ? describe : describe.skip;
if (!available)
  test('console browser tests skipped', () =>
    console.log(`skipped: needs ${CHROMIUM} (deploy/services.sh install browser) and npx tsc -b`));

maybe('web console in chromium against serve on the demo capture', () => {
  let dir: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let log: PageLog;
  let base: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-console-'));
    const data = path.join(dir, 'data');
    const r = spawnSync(
      process.execPath,
      [CLI, 'replay', '--data-dir', data, 'captures/demo-fabric.pcap'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.status).toBe(0);
    serve = await startServe(data, ['--http', '127.0.0.1:0']);
    expect(serve.url).toBeDefined();
    base = `${serve.url}/console/`;
    expect(serve.err()).toContain(`web console on ${base}`);
    ({ browser, page, log } = await openPage(base, { width: 1200, height: 900 }));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const view = async (v: string): Promise<void> => {
    await page.click(`#tabs button[data-view=${v}]`);
    await page.waitForFunction(
      (x) => document.querySelector(`#view-${x}`)?.classList.contains('on'),
      {},
      v,
    );
  };

  test('every view loads without an error in the browser console', async () => {
    await page.waitForSelector('#fabric svg g.switch');
    const switches = await page.$$eval('#fabric g.switch', (g) =>
      g.map((x) => Number(x.getAttribute('data-switch'))),
    );
    expect(switches.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 101, 102]);
    await view('heatmap');
    await page.waitForSelector('#heatmap rect.cell');
    await view('anomalies');
    await page.waitForSelector('.anomaly-row');
    await view('flows');
    expect(await page.$eval('#status', (s) => s.className)).toBe('status');
    expect(log.errors).toEqual([]);
  });

  test("the anomaly list shows the demo capture's labelled anomalies", async () => {
    await view('anomalies');
    await page.waitForSelector('.anomaly-row');
    const shown = await page.evaluate(() =>
      (
        window as unknown as {
          hopwatchConsole: { state: { anomalies: { type: string; from_ns: string }[] } };
        }
      ).hopwatchConsole.state.anomalies.map((a) => ({ type: a.type, start: a.from_ns })),
    );
    const rows = await page.$$eval('.anomaly-row', (r) =>
      r.map((x) => x.getAttribute('data-type')),
    );
    expect(rows).toEqual(shown.map((a) => a.type));
    for (const l of LABELS.anomalies) {
      const hit = shown.find(
        (a) =>
          a.type === l.type &&
          Math.abs(Number(BigInt(a.start) - BigInt(l.start))) <= LABELS.tolerance.startNs,
      );
      expect(hit).toBeDefined();
    }
    expect(await page.$$('#timeline rect.anomaly-mark')).toHaveLength(shown.length);
  });

  test('clicking the microburst shows its µs timeline with the aggressor flows', async () => {
    await view('anomalies');
    await page.$eval('.anomaly-row[data-type=microburst]', (r) => (r as HTMLElement).click());
    await page.waitForSelector('#drill .burst-chart svg');
    const points = await page.$$eval('#drill circle.pt.occupancy', (c) => c.length);
    expect(points).toBeGreaterThan(100);
    const agg = await page.$$eval('#drill tr.flow-row.aggressor a.flow', (a) =>
      a.map((x) => x.textContent ?? ''),
    );
    const labelled = LABELS.anomalies.find((l) => l.type === 'microburst')?.aggressors ?? [];
    expect(agg).toHaveLength(labelled.length);
    for (const f of labelled) expect(agg.some((t) => t.includes(`:${f.srcPort} →`))).toBe(true);
    // the fill and the drain: the peak is inside the shaded episode, both ends are low
    const title = await page.$eval('#drill h2', (h) => h.textContent ?? '');
    expect(title).toMatch(/microburst · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}/);
    // a flow of the drill-down opens the flow search with its path and latency
    await page.click('#drill tr.flow-row.aggressor a.flow');
    await page.waitForSelector('#flow-result .flow-chart svg');
    expect(await page.$eval('#flow-result h2', (h) => h.textContent)).toMatch(
      /packets, 1 path segment/,
    );
    expect(log.errors).toEqual([]);
  });

  test('the micro-loop draws its cycle on the fabric; the path change its two paths', async () => {
    await view('anomalies');
    await page.$eval('.anomaly-row[data-type=microloop]', (r) => (r as HTMLElement).click());
    await page.waitForSelector('#drill .loop-fabric line.hl.cycle');
    expect(await page.$eval('#drill .cycle', (p) => p.textContent)).toMatch(
      /cycle (101 → 3 → 101|3 → 101 → 3)/,
    );
    await page.$eval('.anomaly-row[data-type=path_change]', (r) => (r as HTMLElement).click());
    await page.waitForSelector('#drill .change-fabric line.hl.new');
    const paths = await page.$$eval('#drill .path', (d) => d.map((x) => x.textContent));
    expect(paths).toHaveLength(2);
  });

  test('the heatmap has cells for every hop of the capture', async () => {
    await view('heatmap');
    await page.waitForSelector('#heatmap rect.cell');
    const rows = await page.$$eval('#heatmap text.row-label', (t) =>
      t.map((x) => x.getAttribute('data-hop')),
    );
    const cells = await page.$$eval('#heatmap rect.cell', (t) => [
      ...new Set(t.map((x) => x.getAttribute('data-hop'))),
    ]);
    // every (switch, egress port, queue) the hops name, through the same endpoint
    const res = await fetch(
      `${serve.url}/?default_format=JSONEachRow&query=${encodeURIComponent("SELECT DISTINCT concat(toString(switch_id), '/', toString(egress_port), '/', toString(queue_id)) AS k FROM hops")}`,
    );
    const want = (await res.text())
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { k: string }).k);
    expect(want.length).toBeGreaterThan(20);
    expect([...rows].sort()).toEqual([...want].sort());
    expect([...cells].sort()).toEqual([...want].sort());
    expect(await page.$$('#slowest tbody tr')).not.toHaveLength(0);
  });

  test("times are in the browser's zone, to the ns; a narrow window does not overflow", async () => {
    const other = await openPage(base, { width: 380, height: 800 }, 'America/New_York');
    try {
      await other.page.waitForFunction(() =>
        /packets/.test(document.getElementById('status')?.textContent ?? ''),
      );
      const status = await other.page.$eval('#status', (s) => s.textContent ?? '');
      // the first packet is at 2026-01-01T00:00:00.000015181Z: 19:00 the day before in New York
      expect(status).toContain('2025-12-31 19:00:00.000015181');
      for (const v of ['fabric', 'heatmap', 'anomalies', 'flows']) {
        await other.page.click(`#tabs button[data-view=${v}]`);
        await new Promise((r) => setTimeout(r, 300));
        const over = await other.page.evaluate(
          () => document.documentElement.scrollWidth - window.innerWidth,
        );
        expect(over).toBeLessThanOrEqual(0);
      }
      expect(other.log.errors).toEqual([]);
    } finally {
      await other.browser.close();
    }
  });
});
