#!/usr/bin/env node
// What flows and IPFIX export cost in a replay: the same simulated capture replayed through
// decode → analytics (→ embedded store with --store) three ways, each in its own process, the
// three taking turns round by round on this noisy machine: without flows, with flows (the flow
// table, and the flows table when storing), with flows exported over IPFIX/UDP to a collector
// socket in the parent (it counts what arrives). Prints per round and as medians: records/s,
// CPU µs per record, and the ratios to the run without flows.
// Usage: npx tsc -b && node benchmarks/flows.js [records=2000000] [--rounds 3] [--store] [--keep FILE]
'use strict';
const { spawnSync } = require('child_process');
const dgram = require('dgram');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { REPLAY_SCENARIO } = require('./lib/replay-scenario');

const MODES = ['none', 'flows', 'ipfix'];

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

async function main() {
  const records = Number(
    process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 2_000_000,
  );
  const rounds = Number(arg('--rounds', 3));
  const store = process.argv.includes('--store');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-flows-bench-'));
  const capture = arg('--keep', path.join(tmp, 'bench.pcap'));
  if (!fs.existsSync(capture)) generate(capture, records);
  // the collector: counts IPFIX messages and data records
  const sock = dgram.createSocket('udp4');
  let messages = 0;
  sock.on('message', () => messages++);
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  // a collector's buffer (the kernel caps it at net.core.rmem_max): the flows of a replay all
  // close at its end, in one burst
  sock.setRecvBufferSize(64 << 20);
  const port = sock.address().port;
  const results = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const mode of MODES) {
      const before = messages;
      const r = await runChild(mode, capture, store, port);
      await new Promise((res) => setTimeout(res, 300));
      r.received = messages - before;
      results[mode].push(r);
      console.log(
        `round ${round} ${mode.padEnd(5)}: ${Math.round(r.records / r.wallS).toLocaleString('en')} records/s, ${((r.cpuS * 1e6) / r.records).toFixed(2)} µs CPU/record, ${r.flows} flow intervals${mode === 'ipfix' ? `, ${r.exported} exported in ${r.received} messages received` : ''}`,
      );
    }
  }
  sock.close();
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = MODES.map((m) => med(results[m].map((r) => (r.cpuS * 1e6) / r.records)));
  console.log(`\nmedians (${rounds} rounds, ${store ? 'into the embedded store' : 'no store'}):`);
  MODES.forEach((m, i) => {
    const rate = med(results[m].map((r) => r.records / r.wallS));
    console.log(
      `  ${m.padEnd(5)} ${Math.round(rate).toLocaleString('en').padStart(10)} records/s  ${base[i].toFixed(2)} µs CPU/record  ×${(base[i] / base[0]).toFixed(3)} CPU vs none`,
    );
  });
  fs.rmSync(tmp, { recursive: true, force: true });
}

function generate(file, records) {
  const { loadScenario, simulate } = require('@hopwatch/simulator');
  const scenario = loadScenario(REPLAY_SCENARIO);
  const t = Date.now();
  simulate(scenario, { out: file, limit: records });
  console.log(`generated ${records} records in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

function runChild(mode, capture, store, port) {
  return new Promise((resolve, reject) => {
    const r = spawnSync(
      process.execPath,
      [__filename, '--child', mode, capture, store ? 'store' : 'no-store', String(port)],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    const line = r.stdout.trim().split('\n').pop();
    try {
      resolve(JSON.parse(line));
    } catch {
      reject(new Error(`child ${mode} failed: ${r.stderr || r.stdout}`));
    }
  });
}

async function child(mode, capture, withStore, port) {
  const { loadScenario, codecOverridesFor } = require('@hopwatch/simulator');
  const { makeConfig } = require('@hopwatch/codec');
  const { Pipeline, PcapReplaySource } = require('@hopwatch/pipeline');
  const { FlowTable, IpfixExporter } = require('@hopwatch/flows');
  const { openStore } = require('@hopwatch/store');
  const { profile, overrides } = codecOverridesFor(loadScenario(REPLAY_SCENARIO));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-flows-child-'));
  const store = withStore ? await openStore({ dataDir: path.join(dir, 'data') }) : null;
  const table = mode === 'none' ? null : new FlowTable();
  const ex =
    mode === 'ipfix' ? new IpfixExporter({ transport: 'udp', host: '127.0.0.1', port }) : null;
  ex?.start();
  const pipeline = new Pipeline({
    codec: makeConfig(profile, overrides),
    store,
    flows: table,
    onFlows: ex ? (f) => ex.export(f) : undefined,
  });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new PcapReplaySource([capture], {}).run(pipeline, new AbortController().signal);
  await pipeline.close();
  if (store) await store.close();
  await ex?.close();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  fs.rmSync(dir, { recursive: true, force: true });
  const st = pipeline.stats();
  console.log(
    JSON.stringify({
      records: st.records,
      flows: st.flows,
      exported: ex ? ex.stats.records : 0,
      wallS,
      cpuS: (c.user + c.system) / 1e6,
    }),
  );
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5] === 'store', Number(process.argv[6]));
} else main();
