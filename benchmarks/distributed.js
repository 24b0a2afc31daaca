#!/usr/bin/env node
/**
 * The distributed pipeline end to end on this machine, real services and processes:
 *
 *   UDP sender (own process) → hopwatch ingest (--listen) → Kafka → hopwatch analyze
 *     → ClickHouse (+ Redis, anomaly topic)
 *
 * Telemetry Report v2.0 datagrams (the first report of captures/tr-v2.0-md.pcap as template)
 * from NODES reporters, each with its own increasing sequence number, at RATE reports/s for
 * SECONDS seconds. Every second one reporter skips 5 sequence numbers (a report_loss anomaly).
 *
 * Measured:
 *  - throughput and loss: reports sent vs received by ingest (kernel drops), published,
 *    stored (`paths` rows, one per report) — loss = sent − stored;
 *  - anomaly latency: anomaly received on hopwatch.anomalies.v2 − the wall time the first
 *    report after the gap was sent (p50/p99/max);
 *  - where the anomaly latency goes (from analyze's histograms, bucket bounds in seconds): how
 *    far behind the wall clock the detectors are per topic when fed, and how long after its
 *    end (event time) a report_loss anomaly is published;
 *  - time to queryable: a poller asks ClickHouse every 100 ms for the highest stored sequence
 *    per reporter; a report's latency = first poll that sees it − its send time (p50/p99/max;
 *    +≤100 ms poll granularity).
 *
 *  - CPU per report of each hopwatch process: utime + stime from /proc/PID/stat between the
 *    first datagram sent and the moment everything received is stored, divided by the reports
 *    stored (µs per report, reports per CPU-second), beside the decode benchmark's figure for
 *    the same kind of report measured in the same run (a child running benchmarks/decode.js,
 *    before the services start and after the window), and in units of that figure
 *    (`inDecodeUnits`: the box's speed drifts between days and within a day, the ratio less).
 *  - with --floor-consumer consume|decode, the floor under analyze: lib/floor-consumer.js runs
 *    analyze's Kafka consumers in groups of their own beside it, with a handler that does
 *    nothing or only decodes (`cpuPerReport.floorConsumer`, `floorThreads`).
 *  - how noisy the run was (`host`): the host's busy CPU-s over the same window, the part of it
 *    neither hopwatch nor the services used, and the CPU the hypervisor stole for other guests.
 *
 * Usage: npx tsc -b packages/cli && node benchmarks/distributed.js [--rate N] [--seconds S]
 *        [--nodes N] [--flows-per-node F] [--analyzers N] [--ingest-workers N]
 *        [--compression none|gzip|lz4|zstd]
 *        [--kafka-client kafkajs|rdkafka] [--profile DIR] [--logs DIR]
 * --kafka-client chooses the Kafka client of ingest and analyze (default: hopwatch's default;
 * --analyze-kafka-client overrides it for analyze, to tell the two sides apart);
 * zstd needs rdkafka. --flows-per-node F (default 16; 0 = the template's one flow for every
 * reporter, the workload before 2026-12-06): see lib/report-sender.js. The CPU figures include librdkafka's threads (whole process).
 * --logs DIR writes each hopwatch process's stderr (its log), and its stdout when not empty, into
 * DIR at the end.
 * --analyze-config FILE passes `--config FILE` to analyze (e.g. other analytics table sizes).
 * --analyze-concurrency N passes `--concurrency N` to analyze (partitions handled at once).
 * --insert-every-ms N passes `--insert-every-ms N` to analyze (shortest time between inserts).
 * --warmup-seconds S sends S seconds of the same traffic first and waits until it is stored;
 * the figures are then over the measured window only (steady state: no start-up work, warm
 * JIT in every process and in the broker).
 * --publish-every-ms N passes `--publish-every-ms N` to ingest (longest wait of a partial batch).
 * --batch-records N passes `--batch-records N` to ingest (records per published batch).
 * --udp-receive PATH passes `--udp-receive PATH` to ingest (recvmmsg or dgram; default auto).
 * --receive-hold-ms N passes `--receive-hold-ms N` to ingest (recvmmsg's receive coalescing).
 * --sender c|node: the load generator (lib/report-sender.js): c (default) is tools/report-blast.c,
 * sendmmsg and sleeping between reports (about a tenth of a core at 20,000/s); node is the
 * Node.js sender of the runs before 2026-12-07 (fourth), one dgram send per report (it spun
 * between reports until then and took half of this 2-core box from the processes measured).
 * --sender-bursts paces the Node.js sender on Date.now()'s milliseconds (bursts of rate / 1000 at
 * each tick, the sender before 2026-12-07) rather than sending each report when it is due.
 * --ingest-workers N runs `hopwatch ingest --workers N` (N processes on one UDP port); the
 * CPU figures are then printed per process (1+1: --analyzers 1; 2+2: --ingest-workers 2
 * --analyzers 2).
 * --idle-seconds S measures the processes' CPU over S s without traffic first (after the warm-up).
 * --profile DIR runs each hopwatch process with `node --cpu-prof --cpu-prof-dir DIR` (the
 * profile is written when the process exits; the CPU figures then include the profiler).
 * Its samples are wall-clock: on this busy box a descheduled function is charged the time it
 * waited for a core (ingest's encoder looked three times its CPU cost).
 * --gap-every-ms N: one reporter skips 5 sequence numbers every N ms, until a second before the
 * traffic ends (default 1000: 14 gaps in 15 s, so the anomaly p99 is their maximum; 100 gives
 * 140). `anomalyLatenciesMs` lists each gap's latency and, of it, the time until analyze
 * produced the anomaly.
 * --analyze-node-flags "F..." passes Node/V8 flags to the analyze processes.
 * --perf DIR records the hopwatch processes with Linux perf (cpu-clock, on-CPU time only,
 * kernel included) over the measured window, runs them with `--perf-basic-prof` to name the
 * JavaScript frames, and writes DIR/perf-top.md (benchmarks/tools/perf-top.js): CPU by
 * thread, the main thread's CPU by layer and by function, µs per report. Needs `perf`.
 * Needs deploy/services.sh install (Kafka, ClickHouse, Redis). Prints JSON.
 */
'use strict';
const os = require('os');
const path = require('path');
const fs = require('fs');
const { spawn, execFileSync } = require('child_process');

const { arg, sleep, pct } = require('./lib/util');
const { sendReports } = require('./lib/report-sender');

const ROOT = path.resolve(__dirname, '..');

const PROFILE_DIR = arg('profile', '');
const PERF_DIR = arg('perf', '');
const PERF_FREQ = 499;
// extra Node flags for the analyze processes (e.g. V8 heap settings), space-separated
const ANALYZE_NODE_FLAGS = arg('analyze-node-flags', '').split(' ').filter(Boolean);
const { CLK_TCK, cpuSeconds, pidOnPort } = require('./lib/proc');

function cli(args) {
  const node = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  if (PERF_DIR) node.push('--perf-basic-prof');
  if (args[0] === 'analyze') node.push(...ANALYZE_NODE_FLAGS);
  const p = spawn(
    process.execPath,
    [...node, path.join(ROOT, 'packages/cli/bin/hopwatch.js'), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, HOPWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  p.out = '';
  p.err = '';
  p.stdout.on('data', (d) => (p.out += d));
  p.stderr.on('data', (d) => (p.err += d));
  p.exited = new Promise((r) => p.on('exit', r));
  return p;
}
async function waitFor(fn, ms, what) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timeout: ${what}`);
    await sleep(100);
  }
}

/** CPU seconds per thread name of a process (/proc/PID/task/TID/stat): the main thread ("main"),
 * librdkafka's ("rdk:..."), V8's helpers ("V8 DefaultWorke": GC), libuv's pool ("libuv-worker"). */
function threadCpu(pid) {
  const out = {};
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const st = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      let name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      if (Number(t) === pid) name = 'main';
      name = name.replace(/[0-9]+$/, '');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {}
  }
  return out;
}
/** The host's CPU seconds so far (/proc/stat, all cores): busy (user, nice, system, irq,
 * softirq), idle (idle, iowait) and steal (taken by the hypervisor for other guests). */
function hostCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
  const v = f.map(Number);
  return {
    busy: (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK_TCK,
    idle: (v[3] + v[4]) / CLK_TCK,
    steal: (v[7] || 0) / CLK_TCK,
  };
}

function threadDiff(a, b) {
  const out = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d >= 0.01) out[k] = +d.toFixed(2);
  }
  return out;
}

/** The file system type of `dir` (`stat -f`; ext4 shows as ext2/ext3, one magic number), or '?'. */
function fsType(dir) {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir]).toString().trim();
  } catch {
    return '?';
  }
}

/** The decode benchmark's TR v2.0 figure (M records per CPU-second), measured now. */
function decodeFigure() {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'decode.js'), '2', 'tr v2.0'], {
    cwd: ROOT,
  }).toString();
  const m = /([\d.]+) M records\/s per CPU-second/.exec(out);
  return m ? Number(m[1]) * 1e6 : null;
}

/** µs of CPU per report and reports per CPU-second. */
function perReport(cpuS, reports) {
  return {
    cpuSeconds: +cpuS.toFixed(2),
    usPerReport: reports ? +((cpuS * 1e6) / reports).toFixed(2) : null,
    reportsPerCpuSecond: cpuS ? Math.round(reports / cpuS) : null,
  };
}

function metric(text, name) {
  let sum = 0;
  for (const l of text.split('\n'))
    if (l.startsWith(name + ' ') || l.startsWith(name + '{'))
      sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  return sum;
}

/** Upper bound of the bucket holding quantile q of a histogram series (label filter `sel`). */
function bucketQuantile(text, name, sel, q) {
  const buckets = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith(name + '_bucket{') || !l.includes(sel)) continue;
    const le = /le="([^"]+)"/.exec(l)[1];
    buckets.push([le === '+Inf' ? Infinity : Number(le), Number(l.slice(l.lastIndexOf(' ') + 1))]);
  }
  if (!buckets.length) return null;
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets[buckets.length - 1][1];
  if (!total) return null;
  const hit = buckets.find(([, c]) => c >= q * total);
  return hit[0] === Infinity ? '>' + buckets[buckets.length - 2][0] : hit[0];
}

async function main() {
  const rate = Number(arg('rate', '200000'));
  const seconds = Number(arg('seconds', '10'));
  const nodes = Number(arg('nodes', '64'));
  const flowsPerNode = Number(arg('flows-per-node', '16'));
  const analyzers = Number(arg('analyzers', '1'));
  const compression = arg('compression', 'lz4');
  const ingestWorkers = Number(arg('ingest-workers', '1'));
  const kafkaClient = arg('kafka-client', '');
  const kc = kafkaClient ? ['--kafka-client', kafkaClient] : [];
  // diagnostic: analyze on another client than ingest (which side a difference comes from)
  const analyzeClient = arg('analyze-kafka-client', '');
  // analyze's config file (e.g. smaller analytics tables) for side-by-side runs
  const analyzeConfig = arg('analyze-config', '');
  const analyzeConcurrency = arg('analyze-concurrency', '');
  const insertEveryMs = arg('insert-every-ms', '');
  const publishEveryMs = arg('publish-every-ms', '');
  const batchRecords = arg('batch-records', '');
  const udpReceive = arg('udp-receive', '');
  const receiveHoldMs = arg('receive-hold-ms', '');
  const bursts = process.argv.includes('--sender-bursts');
  const senderImpl = arg('sender', bursts ? 'node' : 'c');
  if (!['c', 'node'].includes(senderImpl)) throw new Error('--sender: c or node');
  const warmupSeconds = Number(arg('warmup-seconds', '0'));
  const gapEveryMs = Number(arg('gap-every-ms', '1000'));
  const floorMode = arg('floor-consumer', '');
  if (floorMode && !['consume', 'decode', 'lowlevel'].includes(floorMode))
    throw new Error('--floor-consumer: consume, decode or lowlevel');
  const akc = analyzeClient ? ['--kafka-client', analyzeClient] : kc;
  const { startKafka, startClickHouse, startRedis } = require(path.join(ROOT, 'packages/testkit'));
  const { Kafka, logLevel } = require('kafkajs');
  const { openStore } = require(path.join(ROOT, 'packages/store'));
  const decodeReportsPerCpuS = decodeFigure();
  const [k, ch, rd] = await Promise.all([
    startKafka({ brokers: 1 }),
    startClickHouse(),
    startRedis(),
  ]);
  const procs = [];
  const analyzeProcs = [];
  try {
    const db = 'bench';
    for (let i = 0; i < analyzers; i++) {
      const a = cli([
        'analyze',
        '--brokers',
        k.brokers.join(','),
        '--store-url',
        ch.url,
        '--database',
        db,
        '--redis',
        rd.url,
        '--status-every',
        '0',
        '--metrics-port',
        '0',
        ...akc,
        ...(analyzeConfig ? ['--config', analyzeConfig] : []),
        ...(analyzeConcurrency ? ['--concurrency', analyzeConcurrency] : []),
        ...(insertEveryMs ? ['--insert-every-ms', insertEveryMs] : []),
      ]);
      procs.push(a);
      analyzeProcs.push(a);
      await waitFor(async () => a.err.includes('joined consumer group'), 60000, 'analyze join');
    }
    // the floor under analyze (lib/floor-consumer.js): its consumers alone, groups of its own
    let floor = null;
    if (floorMode) {
      floor = spawn(
        process.execPath,
        [path.join(__dirname, 'lib/floor-consumer.js'), k.brokers.join(','), floorMode],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      floor.err = '';
      floor.stderr.on('data', (d) => (floor.err += d));
      floor.exited = new Promise((r) => floor.on('exit', r));
      procs.push(floor);
      await waitFor(async () => floor.err.includes('joined'), 60000, 'floor consumer join');
    }
    const ing = cli([
      'ingest',
      '--brokers',
      k.brokers.join(','),
      '--listen',
      '127.0.0.1:0',
      '--allow',
      '127.0.0.0/8',
      '--metrics-port',
      '0',
      '--status-every',
      '0',
      '--compression',
      compression,
      ...kc,
      ...(ingestWorkers > 1 ? ['--workers', String(ingestWorkers)] : []),
      ...(publishEveryMs ? ['--publish-every-ms', publishEveryMs] : []),
      ...(batchRecords ? ['--batch-records', batchRecords] : []),
      ...(udpReceive ? ['--udp-receive', udpReceive] : []),
      ...(receiveHoldMs ? ['--receive-hold-ms', receiveHoldMs] : []),
    ]);
    procs.push(ing);
    const port = Number(
      await waitFor(
        async () => /"udp":"127\.0\.0\.1:(\d+)"/.exec(ing.err)?.[1],
        30000,
        'ingest listening',
      ),
    );
    // one metrics endpoint per ingest process (each worker of --workers logs its own)
    const ingWorkers = await waitFor(
      async () => {
        const ws = ing.err
          .split('\n')
          .filter((l) => l.includes('"url":"http'))
          .map((l) => ({
            url: /"url":"(http:[^"]+)"/.exec(l)[1],
            pid: Number(/"pid":(\d+)/.exec(l)[1]),
          }));
        return ws.length >= ingestWorkers ? ws : undefined;
      },
      30000,
      'ingest metrics',
    );
    /** Sum of a counter over the ingest processes (kernel drops: one shared socket, max). */
    const ingestMetric = async (name) => {
      const vs = await Promise.all(
        ingWorkers.map(async (w) => metric(await (await fetch(w.url)).text(), name)),
      );
      return name === 'hopwatch_ingest_kernel_drops_total'
        ? Math.max(...vs)
        : vs.reduce((a, b) => a + b, 0);
    };
    await sleep(3000);
    // anomaly topic reader
    const kafka = new Kafka({ clientId: 'bench', brokers: k.brokers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'bench-reader', maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'hopwatch.anomalies.v2', fromBeginning: true });
    const anomalies = [];
    await consumer.run({
      eachMessage: async ({ message }) =>
        anomalies.push({
          at: Date.now(),
          // the message's CreateTime: when analyze produced it (the same clock, one host)
          produced: Number(message.timestamp),
          a: JSON.parse(message.value.toString()),
        }),
    });
    const store = await openStore({ url: ch.url, database: db });
    // queryable poller
    const seen = new Map(); // node → max seq seen
    const seenAt = []; // [wall ms, node, maxSeq]
    let polling = true;
    const pollMs = []; // how long each poll took (a slow poll delays what it can see)
    const poller = (async () => {
      while (polling) {
        const t = Date.now();
        try {
          const rows = await store.query(
            'SELECT report_node AS n, max(report_seq) AS s FROM paths GROUP BY report_node',
          );
          for (const r of rows) {
            const n = Number(r.n) - 1000;
            const s = Number(r.s);
            if ((seen.get(n) ?? -1) < s) {
              seen.set(n, s);
              seenAt.push([t, n, s]);
            }
          }
        } catch {}
        pollMs.push(Date.now() - t);
        await sleep(Math.max(0, 100 - (Date.now() - t)));
      }
    })();
    // warm-up (--warmup-seconds): the same traffic first, not measured, until all of it is
    // stored, so that the window below is steady state (JIT-compiled code in every process,
    // partitions' detector state created, the broker's JVM warm); the counters after it are
    // the base the measured figures are taken from
    const base = {
      ...{ stored: 0, decoded: 0, received: 0, reads: 0, drops: 0, shed: 0, kafkaSent: 0 },
      byWorker: new Map(), // ingest worker metrics URL -> records decoded
    };
    let seqStart;
    if (warmupSeconds > 0) {
      const w = await sendReports({
        port,
        rate,
        seconds: warmupSeconds,
        nodes,
        flows: flowsPerNode,
        bursts,
        gapEveryMs,
        impl: senderImpl,
      });
      seqStart = w.seq;
      const tw = Date.now();
      for (;;) {
        base.decoded = await ingestMetric('hopwatch_ingest_decoded_records_total');
        base.stored = Number((await store.query('SELECT count() AS n FROM paths'))[0].n);
        if ((base.stored >= base.decoded && Date.now() - tw > 2000) || Date.now() - tw > 60000)
          break;
        await sleep(250);
      }
      await sleep(2000); // the warm-up's last anomalies
      base.received = await ingestMetric('hopwatch_ingest_received_total');
      base.reads = await ingestMetric('hopwatch_ingest_reads_total');
      base.drops = await ingestMetric('hopwatch_ingest_kernel_drops_total');
      base.shed = await ingestMetric('hopwatch_producer_shed_total');
      base.kafkaSent = await ingestMetric('hopwatch_producer_sent_total');
      for (const w of ingWorkers)
        base.byWorker.set(
          w.url,
          metric(await (await fetch(w.url)).text(), 'hopwatch_ingest_decoded_records_total'),
        );
    }
    // --idle-seconds S: the processes' CPU over S seconds without traffic (their fixed cost)
    const idleSeconds = Number(arg('idle-seconds', '0'));
    let idle;
    if (idleSeconds > 0) {
      const a0 = analyzeProcs.map((a) => cpuSeconds(a.pid));
      const at0 = threadCpu(analyzeProcs[0].pid);
      const i0 = cpuSeconds(ing.pid);
      await sleep(idleSeconds * 1000);
      idle = {
        seconds: idleSeconds,
        analyzeCpuSeconds: analyzeProcs.map((a, i) => +(cpuSeconds(a.pid) - a0[i]).toFixed(2)),
        analyzeThreads: threadDiff(at0, threadCpu(analyzeProcs[0].pid)),
        ingestCpuSeconds: +(cpuSeconds(ing.pid) - i0).toFixed(2),
      };
    }
    const cpu0 = process.cpuUsage();
    // the hopwatch processes: analyze members, the ingest process or its workers (+ primary)
    const cpuPids = [
      ...analyzeProcs.map((a) => a.pid),
      ing.pid,
      ...ingWorkers.filter((w) => w.pid !== ing.pid).map((w) => w.pid),
    ];
    const procCpu0 = cpuPids.map(cpuSeconds);
    const host0 = hostCpu();
    const floorCpu0 = floor ? cpuSeconds(floor.pid) : 0;
    const floorThreads0 = floor ? threadCpu(floor.pid) : {};
    const analyzeThreads0 = threadCpu(analyzeProcs[0].pid);
    const ingestThreads0 = threadCpu(ing.pid);
    // the services' CPU in the same window (not hopwatch's, but what its inserts and fetches cost)
    const svcPids = {
      clickhouse: pidOnPort(Number(new URL(ch.url).port)),
      kafka: pidOnPort(Number(k.brokers[0].split(':').pop())),
      redis: pidOnPort(rd.port),
    };
    const svcCpu0 = Object.fromEntries(
      Object.entries(svcPids).map(([n, pid]) => [n, pid ? cpuSeconds(pid) : 0]),
    );
    // perf over the window: every thread of the hopwatch processes, on-CPU samples only
    let perf = null;
    if (PERF_DIR) {
      fs.mkdirSync(PERF_DIR, { recursive: true });
      const targets = ['-p', cpuPids.join(','), '-o', path.join(PERF_DIR, 'perf.data')];
      perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(PERF_FREQ), ...targets], {
        stdio: 'ignore',
      });
    }
    // perf may exit early (no permission, a bad path): its exit is awaited from here on
    const perfExit = perf && new Promise((r) => perf.on('exit', r));
    const t0 = Date.now();
    const res = await sendReports({
      port,
      rate,
      seconds,
      nodes,
      flows: flowsPerNode,
      seqStart,
      bursts,
      gapEveryMs,
      impl: senderImpl,
    });
    const sendMs = Date.now() - t0;
    // wait until everything received is stored (or 60 s)
    let stored = 0;
    const tEnd = Date.now();
    let received = 0;
    for (;;) {
      received = (await ingestMetric('hopwatch_ingest_decoded_records_total')) - base.decoded;
      stored = Number((await store.query('SELECT count() AS n FROM paths'))[0].n) - base.stored;
      if (
        (stored >= received && received > 0 && Date.now() - tEnd > 2000) ||
        Date.now() - tEnd > 60000
      )
        break;
      await sleep(250);
    }
    const drainMs = Date.now() - tEnd;
    if (perf) {
      perf.kill('SIGINT');
      const code = await perfExit;
      if (code !== 0 && code !== null) throw new Error(`perf record exited with ${code}`);
    }
    const cpuOf = new Map(cpuPids.map((pid, i) => [pid, cpuSeconds(pid) - procCpu0[i]]));
    const host1 = hostCpu();
    const floorCpu = floor ? cpuSeconds(floor.pid) - floorCpu0 : 0;
    const floorThreads = floor ? threadDiff(floorThreads0, threadCpu(floor.pid)) : undefined;
    const analyzeThreads = threadDiff(analyzeThreads0, threadCpu(analyzeProcs[0].pid));
    const ingestThreads = threadDiff(ingestThreads0, threadCpu(ing.pid));
    const servicesCpuSeconds = Object.fromEntries(
      Object.entries(svcPids).map(([n, pid]) => [
        n,
        pid ? +(cpuSeconds(pid) - svcCpu0[n]).toFixed(2) : null,
      ]),
    );
    await sleep(2500); // last anomalies
    polling = false;
    await poller;
    // where the anomaly latency goes, from the first analyzer's histograms (bucket bounds, s)
    const aurl = /"url":"(http:[^"]+)"/.exec(analyzeProcs[0].err)?.[1];
    const atext = aurl ? await (await fetch(aurl)).text() : '';
    const delays = {};
    for (const kind of ['records', 'queues', 'reports']) {
      const m = 'hopwatch_analyze_event_delay_seconds';
      delays[`detectorsBehind_${kind}`] = {
        p50: bucketQuantile(atext, m, `kind="${kind}"`, 0.5),
        p99: bucketQuantile(atext, m, `kind="${kind}"`, 0.99),
      };
    }
    delays.reportLossPublishedAfterEnd = {
      p50: bucketQuantile(atext, 'hopwatch_anomaly_delay_seconds', 'type="report_loss"', 0.5),
      p99: bucketQuantile(atext, 'hopwatch_anomaly_delay_seconds', 'type="report_loss"', 0.99),
    };
    // queryable latency: for each mark (send time of a report), first poll that saw it
    const q = [];
    const qByThird = [[], [], []]; // by send time: first, middle, last third of the run
    const tMark0 = res.marks.length ? res.marks[0][0] : 0;
    for (const [ts, node, s] of res.marks) {
      const hit = seenAt.find(([, n, ms]) => n === node && ms >= s);
      if (!hit) continue;
      q.push(hit[0] - ts);
      qByThird[Math.min(2, Math.floor(((ts - tMark0) / (seconds * 1000)) * 3))].push(hit[0] - ts);
    }
    // anomaly latency
    const latSplit = []; // [ms into the window, to the topic, of it until produced], per gap
    for (const g of res.gaps) {
      const hit = anomalies.find(
        (x) => x.a.type === 'report_loss' && x.a.nodeId === 1000 + g.node && x.at >= g.at,
      );
      if (hit) latSplit.push([g.at - t0, hit.at - g.at, hit.produced - g.at]);
    }
    const lat = latSplit.map((l) => l[1]);
    const decodeAfter = decodeFigure();
    const decodeMean =
      decodeReportsPerCpuS && decodeAfter
        ? 2 / (1 / decodeReportsPerCpuS + 1 / decodeAfter)
        : (decodeReportsPerCpuS ?? decodeAfter ?? 0);
    // over all stored reports: every ingest process (the primary too), every analyzer
    const ingestCpu = [...new Set([ing.pid, ...ingWorkers.map((w) => w.pid)])].reduce(
      (t, pid) => t + cpuOf.get(pid),
      0,
    );
    const analyzeCpu = analyzeProcs.reduce((t, a) => t + cpuOf.get(a.pid), 0);
    const out = {
      command: `node benchmarks/distributed.js --rate ${rate} --seconds ${seconds} --nodes ${nodes} --flows-per-node ${flowsPerNode} --analyzers ${analyzers} --ingest-workers ${ingestWorkers} --compression ${compression}${kafkaClient ? ` --kafka-client ${kafkaClient}` : ''}${analyzeClient ? ` --analyze-kafka-client ${analyzeClient}` : ''}${receiveHoldMs ? ` --receive-hold-ms ${receiveHoldMs}` : ''}${bursts ? ' --sender-bursts' : ''}${senderImpl !== 'c' ? ` --sender ${senderImpl}` : ''}${gapEveryMs !== 1000 ? ` --gap-every-ms ${gapEveryMs}` : ''}${insertEveryMs ? ` --insert-every-ms ${insertEveryMs}` : ''}`,
      offeredRate: rate,
      sent: res.sent,
      sendSeconds: +(res.elapsedMs / 1000).toFixed(2),
      achievedSendRate: Math.round(res.sent / (res.elapsedMs / 1000)),
      ingest: {
        processes: ingWorkers.length,
        received: (await ingestMetric('hopwatch_ingest_received_total')) - base.received,
        reads: (await ingestMetric('hopwatch_ingest_reads_total')) - base.reads,
        kernelDrops: (await ingestMetric('hopwatch_ingest_kernel_drops_total')) - base.drops,
        decoded: received,
        shed: (await ingestMetric('hopwatch_producer_shed_total')) - base.shed,
        kafkaSent: (await ingestMetric('hopwatch_producer_sent_total')) - base.kafkaSent,
      },
      stored,
      lost: res.sent - stored,
      endToEndRate: Math.round(stored / ((sendMs + drainMs) / 1000)),
      drainAfterSendMs: drainMs,
      gapsInjected: res.gaps.length,
      anomaliesMatched: lat.length,
      anomalyLatencyMs: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: pct(lat, 1) },
      // each gap's anomaly, in the order sent: [ms from the window's start to the gap, ms until
      // the reader had the anomaly, ms until analyze produced it (the message's CreateTime)]
      anomalyLatenciesMs: latSplit,
      queryableLatencyMs: {
        samples: q.length,
        p50: pct(q, 0.5),
        p99: pct(q, 0.99),
        max: pct(q, 1),
        p50ByThirdOfRun: qByThird.map((x) => pct(x, 0.5)),
        polls: pollMs.length,
        pollMsP50Max: [pct(pollMs, 0.5), pct(pollMs, 1)],
      },
      analyzeDelaysSeconds: delays,
      benchCpuMs: Math.round(process.cpuUsage(cpu0).user / 1000),
      cpuPerReport: {
        // from the first datagram sent to everything received stored (drain included)
        // per process: its CPU over the reports it handled (ingest: decoded by it; analyze:
        // an equal share, its partitions' rows are not counted apart); total: over all stored
        ingest: await Promise.all(
          ingWorkers.map(async (w) =>
            perReport(
              cpuOf.get(w.pid),
              metric(await (await fetch(w.url)).text(), 'hopwatch_ingest_decoded_records_total') -
                (base.byWorker.get(w.url) ?? 0),
            ),
          ),
        ),
        ingestPrimary: ingWorkers.some((w) => w.pid === ing.pid)
          ? undefined
          : +cpuOf.get(ing.pid).toFixed(2),
        ingestTotal: perReport(ingestCpu, stored),
        analyze: analyzeProcs.map((a) => perReport(cpuOf.get(a.pid), stored / analyzers)),
        analyzeTotal: perReport(analyzeCpu, stored),
        // the decode benchmark before the services start and again after the window (the
        // box's speed drifts by a third within minutes); the figure is their mean
        decodeBenchmark: perReport(1, decodeMean),
        decodeBenchmarkUsBeforeAfter: [decodeReportsPerCpuS, decodeAfter].map((r) =>
          r ? +(1e6 / r).toFixed(3) : null,
        ),
        // --floor-consumer: analyze's consumers alone (consume) or with the decode (decode)
        floorConsumer: floor ? { mode: floorMode, ...perReport(floorCpu, stored) } : undefined,
      },
      // CPU per report in units of the decode benchmark's figure of this run: comparable across
      // machines and days where µs are not. Issue 13 set its targets (ingest 5 µs, analyze 4 µs)
      // when that figure was 0.25 µs: 20 and 16 decodes.
      inDecodeUnits: (() => {
        const unitUs = decodeMean ? 1e6 / decodeMean : 0;
        const u = (cpuS) =>
          unitUs && stored ? +((cpuS * 1e6) / stored / unitUs).toFixed(1) : null;
        return {
          ingest: u(ingestCpu),
          analyze: u(analyzeCpu),
          floorConsumer: floor ? u(floorCpu) : undefined,
          issue13Targets: { ingest: 20, analyze: 16 },
        };
      })(),
      floorThreads,
      // the first analyze process's CPU-s by thread, same window
      analyzeThreads,
      ingestThreads,
      // the first analyze process's counters (whole life, warm-up included)
      analyzeCounters: Object.fromEntries(
        [
          'hopwatch_analyze_anomalies_total',
          'hopwatch_analyze_anomalies_deduplicated_total',
          'hopwatch_consumer_batches_total',
          'hopwatch_consumer_messages_total',
          'hopwatch_consumer_commits_total',
          'hopwatch_store_flushes_total',
        ].map((n) => [n.replace(/^hopwatch_/, ''), metric(atext, n)]),
      ),
      anomaliesByType: Object.fromEntries(
        atext
          .split('\n')
          .filter((l) => l.startsWith('hopwatch_analyze_anomalies_total{'))
          .map((l) => [/type="([^"]+)"/.exec(l)?.[1], Number(l.slice(l.lastIndexOf(' ') + 1))]),
      ),
      idle,
      servicesCpuSeconds,
      // the whole host over the same window: busy CPU-s, the sender's share (its whole life),
      // what neither hopwatch, the services nor the sender used (this script, the kernel's
      // threads, anything else running),
      // and steal (CPU the hypervisor gave other guests): a noisy run shows here
      host: (() => {
        const busy = host1.busy - host0.busy;
        const ours =
          [...cpuOf.values()].reduce((t, v) => t + v, 0) +
          floorCpu +
          Object.values(servicesCpuSeconds).reduce((t, v) => t + (v ?? 0), 0) +
          (res.cpuSeconds ?? 0);
        return {
          busyCpuSeconds: +busy.toFixed(2),
          senderCpuSeconds: res.cpuSeconds == null ? null : +res.cpuSeconds.toFixed(2),
          otherCpuSeconds: +(busy - ours).toFixed(2),
          idleCpuSeconds: +(host1.idle - host0.idle).toFixed(2),
          stealCpuSeconds: +(host1.steal - host0.steal).toFixed(2),
        };
      })(),
      warmupSeconds,
      // where the services keep their data (the testkit's run directories: TMPDIR); on this
      // box's ext4 most of ClickHouse 18.16's CPU went to creating its parts' files
      servicesDir: `${os.tmpdir()} (${fsType(os.tmpdir())})`,
      // over the warm-up and the measured window together
      duplicates:
        base.stored +
        stored -
        Number(
          (await store.query('SELECT uniqExact(report_node, report_seq) AS n FROM paths'))[0].n,
        ),
    };
    if (PERF_DIR) {
      const names = [...analyzeProcs.map((_, i) => `analyze ${i + 1}`), 'ingest'];
      for (let i = names.length; i < cpuPids.length; i++) names.push(`ingest worker ${i}`);
      const md = execFileSync(process.execPath, [
        path.join(__dirname, 'tools/perf-top.js'),
        path.join(PERF_DIR, 'perf.data'),
        ...['--pids', cpuPids.join(','), '--names', names.join(',')],
        ...['--freq', String(PERF_FREQ), '--reports', String(stored)],
      ]).toString();
      fs.writeFileSync(path.join(PERF_DIR, 'perf-top.md'), `# ${out.command}\n\n${md}`);
      out.perf = path.join(PERF_DIR, 'perf-top.md');
    }
    console.log(JSON.stringify(out, null, 2));
    await consumer.disconnect();
    await store.close();
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(15000)])));
    const logs = arg('logs', '');
    if (logs)
      procs.forEach((p, i) => {
        fs.writeFileSync(path.join(logs, `${i}-${p.pid}.log`), p.err);
        // stdout too when there is any (e.g. V8's traces from --analyze-node-flags)
        if (p.out) fs.writeFileSync(path.join(logs, `${i}-${p.pid}.out`), p.out);
      });
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await Promise.all([k.stop(), ch.stop(), rd.stop()]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
