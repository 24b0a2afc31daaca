/* Microburst rules on busy heavy-tailed queues (issue #14): labelled scenarios (a busy queue with
 * an incast burst at 1.5-3x its level, and steady-busy decoys), the detector's own output (the
 * absolute rule), and candidate relative rules evaluated on the detector's own samples and
 * baseline: smoothed latency S (time-weighted EWMA over W) >= R x baseline for at least D.
 * Prints the table in docs/anomalies.md. Build first: npx tsc -b; then:
 *   node benchmarks/burst-rules.js [seeds] [--window US] [--ratios 1.5,2,3] [--holds 100,200,400]
 * (default 4 seeds, ~15 s each; --window: the EWMA's time constant, default 50 µs)
 * With --warmup: the bundled busy-start and busy-appears scenarios run for 30 ms over seeds
 * 1..N (default 12), and the microbursts found in each (none are labelled). */
'use strict';
const {
  BUNDLED_CAPTURES,
  loadScenario,
  simulateToBuffer,
  codecOverridesFor,
} = require('@hopwatch/simulator');
const { Decoder, makeConfig, RecordBatch } = require('@hopwatch/codec');
const { readCaptureBuffer } = require('@hopwatch/pcap');
const { Analyzer } = require('@hopwatch/analytics');
const { MicroburstDetector } = require('@hopwatch/analytics/dist/detectors/microburst');

const args = process.argv.slice(2);
/** `--NAME VALUE` taken out of args (comma lists for --ratios / --holds). */
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1] : dflt;
};
const WINDOW_NS = Number(opt('window', '50')) * 1e3;
const RATIOS = opt('ratios', '1.5,2,3').split(',').map(Number);
const HOLDS = opt('holds', '100,200,400')
  .split(',')
  .map((x) => Number(x) * 1e3);
const WARMUP = args[0] === '--warmup';
if (WARMUP) args.shift();
const SEEDS = Number(args[0] || 4);
const BURST_AT_MS = 14; // after the 10 ms warm-up
const BURST_US = 1000;
const TOL_NS = 200e3;
const RULES = [];
for (const R of RATIOS) for (const D of HOLDS) RULES.push({ R, D });

function scenario(seed, aggressorGbps) {
  const events = [
    {
      type: 'busy',
      atMs: 0,
      leaf: 1,
      host: 0,
      load: 0.6,
      payloadBytes: 1400,
      alpha: 1.5,
      maxTrain: 50,
    },
  ];
  if (aggressorGbps > 0)
    events.push({
      type: 'microburst',
      atMs: BURST_AT_MS,
      durationUs: BURST_US,
      leaf: 1,
      host: 0,
      senders: 2,
      rateGbps: aggressorGbps / 2,
      payloadBytes: 1400,
      victims: 0,
      victimRateGbps: 0.1,
      labelBy: 'aggressors',
    });
  return loadScenario({
    name: 'burst-rules',
    seed,
    durationMs: 24,
    topology: { leaves: 4, spines: 2, hostsPerLeaf: 4, hostLinkGbps: 10, fabricLinkGbps: 40 },
    traffic: { elephants: { count: 0 }, mice: { arrivalsPerMs: 0 } },
    int: { version: '2.1', mode: 'MD', encapsulation: 'udp-dscp', instructionBitmap: 0xf000 },
    output: { kind: 'packets', snaplen: 106 },
    events,
  });
}

// the busy queue's samples as the detector sees them: time, latency, the baseline before it
let tap = null;
const onSample = MicroburstDetector.prototype.onSample;
MicroburstDetector.prototype.onSample = function (q, td, lat, occ, fs, sw, len) {
  const k = this.queues.keys;
  if (tap && k[q * 3] === 2 && k[q * 3 + 1] === 1 && lat >= 0) tap.push(td, lat, this.baseLat[q]);
  return onSample.call(this, q, td, lat, occ, fs, sw, len);
};

function run(s) {
  tap = [];
  const r = simulateToBuffer(s);
  const { profile, overrides } = codecOverridesFor(s);
  const dec = new Decoder(makeConfig(profile, overrides));
  const batch = new RecordBatch(512, 8);
  const an = new Analyzer();
  const rd = readCaptureBuffer(r.capture);
  let base = null;
  for (let p = rd.next(); p; p = rd.next()) {
    base ??= BigInt(p.tsSec) * 1000000000n + BigInt(p.tsNsec);
    dec.decode(p.data, p.linkType, p.tsSec, p.tsNsec, p.index, batch);
    if (batch.count >= 500) {
      an.process(batch);
      batch.reset();
    }
  }
  if (batch.count) an.process(batch);
  const found = an.finish().filter((a) => a.type === 'microburst');
  const samples = tap;
  tap = null;
  return { found, samples, labels: r.labels.anomalies.filter((a) => a.type === 'microburst') };
}

/** Detections of "S >= R x baseline for >= D" (after warm-up), as [start, end] windows. */
function relative(samples, R, D) {
  const out = [];
  let S = -1;
  let lastT = 0;
  let since = -1;
  for (let i = 0; i < samples.length; i += 3) {
    const t = samples[i];
    const x = samples[i + 1];
    const b = samples[i + 2];
    S = S < 0 ? x : S + (1 - Math.exp(-Math.max(0, t - lastT) / WINDOW_NS)) * (x - S);
    lastT = t;
    if (t - samples[0] < 10e6 || b <= 0 || S < R * b) {
      since = -1;
      continue;
    }
    if (since < 0) since = t;
    if (t - since < D) continue;
    const last = out[out.length - 1];
    if (last && since - last[1] <= 200e3) last[1] = t;
    else out.push([since, t]);
  }
  return out;
}

function score(windows, label) {
  let tp = 0;
  let fp = 0;
  for (const [a, b] of windows) {
    if (label && b >= label[0] - TOL_NS && a <= label[1] + TOL_NS) tp = 1;
    else fp++;
  }
  return { tp, fp, fn: label && !tp ? 1 : 0 };
}

if (WARMUP) {
  for (const name of ['busy-start', 'busy-appears']) {
    const yaml = BUNDLED_CAPTURES.find((c) => c.name === name).yaml;
    const out = [];
    for (let seed = 1; seed <= Number(args[0] || 12); seed++) {
      const s = loadScenario(
        yaml.replace(/^seed: \d+/m, `seed: ${seed}`).replace(/^durationMs: \d+/m, 'durationMs: 30'),
      );
      const { found, samples } = run(s);
      void samples;
      const ms = (a) => (Number(a.start % 1000000000n) / 1e6).toFixed(2);
      out.push(
        `seed ${seed}: ${found.length}${found.length ? ` (at ${found.map(ms).join(', ')} ms)` : ''}`,
      );
    }
    console.log(`${name}, 30 ms: ${out.join('; ')}`);
  }
  process.exit(0);
}

const classes = [
  ['decoy (no burst)', 0],
  ['+2 Gb/s', 2],
  ['+3 Gb/s', 3],
  ['+4 Gb/s', 4],
];
const rows = new Map(); // rule -> class -> {tp, fp, fn}
const ratios = new Map();
const add = (rule, cls, r) => {
  if (!rows.has(rule)) rows.set(rule, new Map());
  const m = rows.get(rule);
  const e = m.get(cls) ?? { tp: 0, fp: 0, fn: 0 };
  e.tp += r.tp;
  e.fp += r.fp;
  e.fn += r.fn;
  m.set(cls, e);
};
for (let seed = 1; seed <= SEEDS; seed++) {
  for (const [cls, gbps] of classes) {
    const { found, samples, labels } = run(scenario(seed, gbps));
    // the detector's timeline is ns from the epoch of the scenario, near enough (the first
    // record comes µs after it); labels are ns since the Unix epoch
    const epoch = BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1000000n;
    let label = null;
    if (labels.length) {
      const l = labels[0];
      label = [Number(BigInt(l.start) - epoch), Number(BigInt(l.end) - epoch)];
      // burst level: mean latency in the label window / the detector's baseline at its start
      let sum = 0;
      let n = 0;
      let b0 = 0;
      for (let i = 0; i < samples.length; i += 3) {
        if (samples[i] < label[0]) b0 = samples[i + 2];
        else if (samples[i] <= label[1]) {
          sum += samples[i + 1];
          n++;
        }
      }
      const a = ratios.get(cls) ?? [];
      a.push(n && b0 ? sum / n / b0 : 0);
      ratios.set(cls, a);
    }
    const absWin = found.map((a) => [Number(a.start - epoch), Number(a.end - epoch)]);
    add('absolute (detector)', cls, score(absWin, label));
    for (const { R, D } of RULES)
      add(`S ≥ ${R} × base for ${D / 1e3} µs`, cls, score(relative(samples, R, D), label));
    process.stderr.write(`seed ${seed} ${cls}: detector found ${found.length}\n`);
  }
}

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const head = ['rule', ...classes.map(([c]) => c), 'P', 'R'];
const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
for (const [rule, m] of rows) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const cells = classes.map(([c]) => {
    const e = m.get(c);
    tp += e.tp;
    fp += e.fp;
    fn += e.fn;
    return c.startsWith('decoy') ? `FP ${e.fp}` : `${e.tp}/${e.fp}/${e.fn}`;
  });
  lines.push(`| ${rule} | ${cells.join(' | ')} | ${f2(tp / (tp + fp))} | ${f2(tp / (tp + fn))} |`);
}
console.log(lines.join('\n'));
console.log(
  '\nburst level (mean latency in the label window / detector baseline at its start), per seed:',
);
for (const [c, a] of ratios) console.log(`  ${c}: ${a.map(f2).join(', ')}`);
