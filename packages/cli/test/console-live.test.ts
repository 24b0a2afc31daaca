/**
 * The web console while reports arrive: `hopwatch serve` starts on an empty store with the
 * console open in Debian's chromium (headless, puppeteer-core), then the frames of
 * captures/demo-fabric.pcap arrive as Telemetry Reports v2.0 over UDP; the open page picks
 * them up by itself (no reload): packets, the heatmap's queues, the labelled anomaly types.
 * Skipped with a message when chromium or the build is missing, unless
 * HOPWATCH_REQUIRE_SERVICES=1 (CI).
 */
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeReportPayload } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import type { Browser, Page } from 'puppeteer-core';
import { built, ROOT, startServe, type ServeProcess } from './serve-process';
import { openPage, CHROMIUM, type PageLog } from './browser';

const LABELS = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'captures/demo-fabric.labels.json'), 'utf8'),
) as { packets: number; anomalies: { type: string }[] };
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
const available = built && fs.existsSync(CHROMIUM);
if (!available && required) throw new Error(`console browser tests need ${CHROMIUM} and a build`);
const maybe = available ? describe : describe.skip;
if (!available)
  test('live console test skipped', () =>
    console.log(`skipped: needs ${CHROMIUM} (deploy/services.sh install browser) and npx tsc -b`));

/** Every frame of the capture wrapped in a Telemetry Report v2.0 (an Ethernet frame, inType 3). */
function demoReports(port: number): Uint8Array[] {
  const r = openCapture(path.join(ROOT, 'captures/demo-fabric.pcap'));
  const out: Uint8Array[] = [];
  try {
    for (let rec = r.next(), seq = 0; rec; rec = r.next(), seq++)
      out.push(
        encodeReportPayload({
          version: '2.0',
          srcAddr: '127.0.0.1',
          dstAddr: '127.0.0.1',
          dstPort: port,
          hwId: 0,
          sequence: seq,
          nodeId: 9,
          reports: [{ repType: 0, inType: 3, inner: Buffer.from(rec.data) }],
        }),
      );
  } finally {
    r.close();
  }
  return out;
}

maybe('web console live while the demo capture arrives as Telemetry Reports', () => {
  let dir: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let log: PageLog;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-console-live-'));
    serve = await startServe(path.join(dir, 'data'), ['--http', '127.0.0.1:0']);
    ({ browser, page, log } = await openPage(`${serve.url}/console/`, {
      width: 1200,
      height: 900,
    }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an empty store, then the reports: the open page follows', async () => {
    await page.waitForFunction(() =>
      /no data yet/.test(document.getElementById('status')?.textContent ?? ''),
    );
    const reports = demoReports(serve.port);
    expect(reports).toHaveLength(LABELS.packets);
    const sock = dgram.createSocket('udp4');
    try {
      for (let i = 0; i < reports.length; i++) {
        await new Promise<void>((res, rej) =>
          sock.send(reports[i], serve.port, '127.0.0.1', (e) => (e ? rej(e) : res())),
        );
        // paced so that the kernel's receive buffer never overflows
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      sock.close();
    }
    await page.waitForFunction(
      (n) => (document.getElementById('status')?.textContent ?? '').startsWith(`${n} packets`),
      { timeout: 30_000 },
      LABELS.packets,
    );
    await page.waitForSelector('#fabric g.switch');
    await page.click('#tabs button[data-view=anomalies]');
    // anomalies are stored as their episodes close: wait for every labelled type
    const types = [...new Set(LABELS.anomalies.map((a) => a.type))].sort();
    await page.waitForFunction(
      (t: string[]) => {
        const seen = new Set(
          [...document.querySelectorAll('.anomaly-row')].map((r) => r.getAttribute('data-type')),
        );
        return t.every((x) => seen.has(x));
      },
      { timeout: 30_000 },
      types,
    );
    await page.click('#tabs button[data-view=heatmap]');
    // every switch / egress port / queue of the capture (as the store counts them), as rows land
    const res = await fetch(
      `${serve.url}/?query=${encodeURIComponent('SELECT count(DISTINCT switch_id, egress_port, queue_id) FROM hops')}`,
    );
    const queues = Number((await res.text()).trim());
    expect(queues).toBe(32);
    await page.waitForFunction(
      (n) => document.querySelectorAll('#heatmap text.row-label').length === n,
      { timeout: 30_000 },
      queues,
    );
    expect(log.errors).toEqual([]);
  }, 120_000);
});
