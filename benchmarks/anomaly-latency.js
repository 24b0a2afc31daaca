#!/usr/bin/env node
/**
 * Anomaly latency of the embedded deployment, end to end: how long after the packet that
 * completes an anomaly `hopwatch serve` has it out.
 *
 *   UDP sender (own process) → hopwatch serve --listen (embedded chDB store) → --anomalies FILE
 *
 * The sender is benchmarks/lib/report-sender.js, as in the distributed benchmark: Telemetry
 * Report v2.0 datagrams from NODES reporters at RATE reports/s for SECONDS seconds; every second one reporter skips 5 sequence
 * numbers. The report after the skip completes a report_loss anomaly; its send time (wall
 * clock) is the start. This process polls the anomalies file every 5 ms; an anomaly's latency
 * is the poll that first sees its line − that send time (+≤5 ms poll granularity).
 *
 * Usage: npx tsc -b packages/cli && node benchmarks/anomaly-latency.js [--rate N] [--seconds S]
 *        [--nodes N] [--no-store]
 * Prints JSON.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const { arg, sleep, pct } = require('./lib/util');
const { sendReports } = require('./lib/report-sender');

const ROOT = path.resolve(__dirname, '..');

async function main() {
  const rate = Number(arg('rate', '20000'));
  const seconds = Number(arg('seconds', '20'));
  const nodes = Number(arg('nodes', '64'));
  const noStore = process.argv.includes('--no-store');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-anomaly-latency-'));
  const anomaliesFile = path.join(tmp, 'anomalies.jsonl');
  const serve = spawn(
    process.execPath,
    [
      path.join(ROOT, 'packages/cli/bin/hopwatch.js'),
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--anomalies',
      anomaliesFile,
      '--status-every',
      '0',
      ...(noStore ? ['--no-store'] : ['--data-dir', path.join(tmp, 'data')]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  serve.stderr.on('data', (d) => (err += d));
  serve.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
  const exited = new Promise((r) => serve.on('exit', r));
  let result;
  try {
    let port = 0;
    for (let t = 0; t < 600 && !port; t++) {
      port = Number(/listening on 127\.0\.0\.1:(\d+)\/udp/.exec(err)?.[1] ?? 0);
      if (serve.exitCode !== null) throw new Error(`serve exited: ${err}`);
      if (!port) await sleep(100);
    }
    if (!port) throw new Error(`serve did not start listening: ${err}`);

    // tail the anomalies file
    const seen = []; // [wall ms, anomaly]
    let offset = 0;
    let rest = '';
    let polling = true;
    const poll = (async () => {
      while (polling) {
        let fd;
        try {
          fd = fs.openSync(anomaliesFile, 'r');
          const size = fs.fstatSync(fd).size;
          if (size > offset) {
            const buf = Buffer.allocUnsafe(size - offset);
            fs.readSync(fd, buf, 0, buf.length, offset);
            offset = size;
            const now = Date.now();
            const lines = (rest + buf.toString('utf8')).split('\n');
            rest = lines.pop();
            for (const l of lines) if (l.trim()) seen.push([now, JSON.parse(l)]);
          }
        } catch (e) {
          if (e.code !== 'ENOENT') throw e;
        } finally {
          if (fd !== undefined) fs.closeSync(fd);
        }
        await sleep(5);
      }
    })();

    const res = await sendReports({ port, rate, seconds, nodes });
    await sleep(3000); // the last anomalies
    polling = false;
    await poll;

    const lat = [];
    for (const g of res.gaps) {
      const hit = seen.find(
        ([at, a]) => a.type === 'report_loss' && a.nodeId === 1000 + g.node && at >= g.at,
      );
      if (hit) lat.push(hit[0] - g.at);
    }
    result = {
      command: `node benchmarks/anomaly-latency.js --rate ${rate} --seconds ${seconds} --nodes ${nodes}${noStore ? ' --no-store' : ''}`,
      store: noStore ? 'none' : 'embedded chDB',
      sent: res.sent,
      achievedSendRate: Math.round(res.sent / (res.elapsedMs / 1000)),
      gapsInjected: res.gaps.length,
      anomaliesMatched: lat.length,
      reportLossAnomalies: seen.filter(([, a]) => a.type === 'report_loss').length,
      otherAnomalies: seen
        .filter(([, a]) => a.type !== 'report_loss')
        .reduce((m, [, a]) => ((m[a.type] = (m[a.type] ?? 0) + 1), m), {}),
      anomalyLatencyMs: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: pct(lat, 1) },
    };
  } finally {
    serve.kill('SIGINT');
    const t = setTimeout(() => serve.kill('SIGKILL'), 30000);
    await exited;
    clearTimeout(t);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // serve's own account at exit (received, kernel drops, rejected, stored)
  result.serveSummary = out
    .split('\n')
    .filter((l) => /^(Received|Source|Rejected|Shed|Dropped)/.test(l.trim()))
    .map((l) => l.trim());
  console.log(JSON.stringify(result, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
