#!/usr/bin/env node
// Takes the screenshots of docs/console.md with the browser the tests use (Debian's chromium,
// headless, through puppeteer-core): `hopwatch serve` on a store holding
// captures/demo-fabric.pcap, each view and each drill-down, plus the narrow window; then the
// report of the same capture. Times are shown in UTC so the pictures do not depend on the zone.
// Usage: npx tsc -b && node docs/console/screenshots.js
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const OUT = __dirname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-shots-'));
  const data = path.join(tmp, 'data');
  const r = spawnSync(
    process.execPath,
    [CLI, 'replay', '--data-dir', data, 'captures/demo-fabric.pcap'],
    { cwd: ROOT },
  );
  if (r.status !== 0) throw new Error(`replay failed: ${r.stderr}`);
  const serve = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--data-dir',
      data,
      '--listen',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
      '--status-every',
      '0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  serve.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 300 && !/web console on (\S+)/.test(err); i++) await sleep(100);
  const url = /web console on (\S+)/.exec(err)[1];
  const browser = await puppeteer.launch({
    executablePath: process.env.HOPWATCH_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.emulateTimezone('UTC');
    await page.setViewport({ width: 1100, height: 800 });
    await page.goto(url, { waitUntil: 'networkidle0' });
    const shot = async (name, sel) => {
      await sleep(800);
      const el = sel ? await page.$(sel) : null;
      await (el || page).screenshot({
        path: path.join(OUT, `${name}.png`),
        ...(el ? {} : { fullPage: true }),
      });
      console.log(`docs/console/${name}.png`);
    };
    const view = async (v) => {
      await page.click(`#tabs button[data-view=${v}]`);
      await sleep(800);
    };
    await page.waitForSelector('#fabric g.switch');
    await shot('fabric', 'main');
    await view('heatmap');
    await page.waitForSelector('#heatmap rect.cell');
    await shot('heatmap', 'main');
    await view('anomalies');
    await page.waitForSelector('.anomaly-row');
    for (const t of ['microburst', 'microloop', 'path_change']) {
      await page.$eval(`.anomaly-row[data-type=${t}]`, (x) => x.click());
      await page.waitForSelector(`#drill[data-type=${t}]`);
      await shot(`anomaly-${t}`, 'main');
    }
    await page.$eval('.anomaly-row[data-type=microburst]', (x) => x.click());
    await page.waitForSelector('#drill tr.flow-row.aggressor a.flow');
    await page.click('#drill tr.flow-row.aggressor a.flow');
    await page.waitForSelector('#flow-result .flow-chart svg');
    await shot('flow', 'main');
    await page.setViewport({ width: 390, height: 800 });
    await view('anomalies');
    await shot('narrow');
    if (errors.length) throw new Error(`errors in the browser console: ${errors.join('; ')}`);
  } finally {
    await browser.close();
    serve.kill('SIGINT');
    await new Promise((r) => serve.on('exit', r));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
