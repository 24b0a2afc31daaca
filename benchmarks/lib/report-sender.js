'use strict';
/**
 * The load generator of the distributed and anomaly-latency benchmarks, in its own process
 * (tools/report-blast.c by default; this file's Node.js sender with `impl: 'node'`, same traffic):
 * Telemetry Report v2.0 datagrams (the first report of captures/tr-v2.0-md.pcap as template)
 * from NODES reporters, each with its own increasing sequence number, at RATE reports/s for
 * SECONDS seconds; every GAP_EVERY_MS (default 1000) one reporter skips 5 sequence numbers (a
 * report_loss anomaly), until a second before the traffic ends. Each reporter's reports carry
 * FLOWS inner flows in turn (the inner UDP source port 20000 + reporter × FLOWS + k), so that
 * flows have one sink each, as in a fabric, and the records topic spreads over its partitions;
 * FLOWS 0 keeps the template's one flow for every reporter (before 2026-12-06: one partition of
 * records, and a 20,000 packets/s flow whose every sender pause the silent-drop rule saw). The
 * sender reports how many it sent, the wall time of each gap-closing report, a (time, node,
 * sequence) mark every 2,000 reports, and its own CPU time. Between reports it sleeps (at least
 * TICK_MS), so reports due within 0.2 ms leave together.
 */
const dgram = require('dgram');
const { execFile, execFileSync, fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { arg } = require('./util');
const { reportTemplate, INNER_SRC_PORT } = require('./report-template');

/**
 * Starts the sender; resolves with its report ({ sent, gaps, marks, elapsedMs, seq, cpuSeconds }).
 * `seqStart`: each reporter's first sequence number (a previous run's `seq`: its next ones).
 * `impl`: 'c' (default) runs tools/report-blast.c (sendmmsg, sleeping between reports: about a
 * tenth of a core at 20,000/s), 'node' this file's Node.js sender (dgram, one send per report:
 * about 0.4 of a core; with `bursts` it paces on Date.now()'s milliseconds).
 */
function sendReports({
  port,
  rate,
  seconds,
  nodes,
  flows = 16,
  seqStart,
  bursts = false,
  gapEveryMs = 1000,
  impl = bursts ? 'node' : 'c',
}) {
  if (impl === 'c') {
    if (bursts) throw new Error('report-sender: bursts need the Node.js sender');
    return blast({ port, rate, seconds, nodes, flows, seqStart, gapEveryMs });
  }
  const child = fork(__filename, [
    '--sender',
    ...['--gap-every-ms', String(gapEveryMs)],
    ...(bursts ? ['--bursts'] : []),
    ...['--port', port, '--rate', rate, '--seconds', seconds, '--nodes', nodes].map(String),
    ...['--flows', String(flows)],
    ...(seqStart ? ['--seq-start', seqStart.join(',')] : []),
  ]);
  return new Promise((resolve, reject) => {
    child.on('message', resolve);
    child.on('exit', (c) => c && reject(new Error(`sender exited with ${c}`)));
  });
}

let blastDir;
/** tools/report-blast.c, compiled once per process into a private temporary directory. */
function blastBinary() {
  if (!blastDir) {
    blastDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-report-blast-'));
    process.on('exit', () => fs.rmSync(blastDir, { recursive: true, force: true }));
    execFileSync('gcc', [
      '-O2',
      '-o',
      path.join(blastDir, 'report-blast'),
      path.join(__dirname, '../tools/report-blast.c'),
    ]);
    fs.writeFileSync(path.join(blastDir, 'template'), reportTemplate());
  }
  return blastDir;
}

function blast({ port, rate, seconds, nodes, flows, seqStart, gapEveryMs }) {
  const dir = blastBinary();
  const args = [
    path.join(dir, 'template'),
    ...[port, rate, seconds, nodes, flows, INNER_SRC_PORT, gapEveryMs, GAP_TAIL_MS].map(String),
    String(TICK_MS * 1000),
  ];
  if (seqStart) {
    const f = path.join(dir, `seq-${process.pid}-${Date.now()}`);
    fs.writeFileSync(f, seqStart.join('\n') + '\n');
    args.push(f);
  }
  return new Promise((resolve, reject) => {
    execFile(path.join(dir, 'report-blast'), args, { maxBuffer: 64 << 20 }, (err, out) =>
      err ? reject(err) : resolve(JSON.parse(out)),
    );
  });
}

/** The sender's shortest sleep: reports due within it leave together (4 at 20,000/s). */
const TICK_MS = 0.2;
const SLEEP = new Int32Array(new SharedArrayBuffer(4));
/** Gaps stop this long before the traffic ends. */
const GAP_TAIL_MS = 1000;

/** Child process: sends the datagrams, reports send times of gap-closing reports. */
function sender() {
  const port = Number(arg('port'));
  const rate = Number(arg('rate'));
  const seconds = Number(arg('seconds'));
  const nodes = Number(arg('nodes'));
  const flows = Number(arg('flows', '16'));
  const bursts = process.argv.includes('--bursts');
  const gapEveryMs = Number(arg('gap-every-ms', '1000'));
  const tpl = reportTemplate();
  const sock = dgram.createSocket('udp4');
  sock.on('error', () => undefined);
  const seq = new Uint32Array(nodes);
  const from = arg('seq-start');
  if (from) from.split(',').forEach((v, i) => i < nodes && (seq[i] = Number(v)));
  const total = rate * seconds;
  let sent = 0;
  const gaps = [];
  const marks = []; // [wall ms, node, seq] every 10 ms
  const t0 = Date.now();
  // pacing on the sub-millisecond clock: what is due is sent as soon as it is due, a datagram
  // or two at a time, as reports from many switches arrive; Date.now()'s milliseconds sent
  // them in bursts of rate / 1000 at each tick (before 2026-12-07; --bursts keeps that)
  const p0 = performance.now();
  const clock = bursts ? () => Date.now() - t0 : () => performance.now() - p0;
  let nextGap = gapEveryMs;
  let gapNode = -1; // due until that reporter's next report (a burst may not reach it)
  function burst() {
    const now = Date.now();
    const due = Math.min(total, Math.floor((clock() / 1000) * rate));
    // no gap in the last second of traffic: a loss episode closes once 100 ms of later reports
    // passed (lossGapNs), so a gap in the last reports closes only by analyze's idle flush
    // (1 s without data), which is not detection at the offered rate (before 2026-12-07 each
    // run's last gap fell there and was the p99 of 15)
    if (gapNode < 0 && now - t0 >= nextGap && nextGap <= seconds * 1000 - GAP_TAIL_MS) {
      nextGap += gapEveryMs;
      gapNode = (nextGap / gapEveryMs) % nodes;
    }
    while (sent < due) {
      const node = sent % nodes;
      if (node === gapNode) {
        seq[node] = (seq[node] + 5) & 0x3fffff; // skip 5
        gaps.push({ node, seq: seq[node], at: Date.now() });
        gapNode = -1;
      }
      const b = Buffer.allocUnsafe(tpl.length);
      tpl.copy(b);
      const s = seq[node];
      b[1] = (b[1] & 0xc0) | (s >>> 16);
      b.writeUInt16BE(s & 0xffff, 2);
      b.writeUInt32BE(1000 + node, 4);
      if (flows > 0)
        b.writeUInt16BE(20000 + node * flows + (Math.floor(sent / nodes) % flows), INNER_SRC_PORT);
      sock.send(b, port, '127.0.0.1');
      seq[node] = (s + 1) & 0x3fffff;
      sent++;
      if (sent % 2000 === 0) marks.push([Date.now(), node, s]);
    }
    if (sent < total) {
      // sleep until the next report is due (at least TICK_MS) instead of spinning through
      // setImmediate: the spin took half a core of the 2-core box from the processes under
      // test (before 2026-12-07, fourth); the event loop still runs between bursts
      const wait = ((sent + 1) / rate) * 1000 - clock();
      if (wait > 0) Atomics.wait(SLEEP, 0, 0, Math.max(TICK_MS, wait));
      setImmediate(burst);
    } else
      setTimeout(() => {
        const cpu = process.cpuUsage();
        process.send({
          sent,
          gaps,
          marks,
          elapsedMs: Date.now() - t0,
          seq: Array.from(seq),
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
        });
        sock.close();
      }, 200);
  }
  burst();
}

if (require.main === module && process.argv[2] === '--sender') sender();

module.exports = { sendReports };
