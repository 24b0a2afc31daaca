/* Microburst rules on busy heavy-tailed queues (issue #14): labelled scenarios (a busy queue with
 * an incast burst at 1.5-3x its level, and steady-busy decoys), the detector's own output (the
 * absolute rule), and candidate relative rules evaluated on the detector's own samples and
 * baseline: smoothed latency S (time-weighted EWMA over W) >= R x baseline for at least D.
 * Prints the table in docs/anomalies.md. Build first: npx tsc -b; then:
 *   node benchmarks/burst-rules.js [seeds] [--window US] [--ratios 1.5,2,3] [--holds 100,200,400]
 *        [--config JSON]   (analytics settings of the detector, e.g. '{"burstRiseFactor":0}')
 *        [--from-seed K]   (seeds K .. K+seeds-1: settings chosen on some seeds, checked on others)
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
const CONFIG = JSON.parse(opt('config', '{}'));
const FROM_SEED = Number(opt('from-seed', '1'));
const WARMUP = args[0] === '--warmup';
if (WARMUP) args.shift();
const SEEDS = Number(args[0] || 4);
const BURST_AT_MS = 14; // after the 10 ms warm-up
const BURST_US = 1000;
const TOL_NS = 200e3;
const RULES = [];
for (const R of RATIOS) for (const D of HOLDS) RULES.push({ R, D });

/** Flows towards the busy host: `senders` flows at `gbps` in all from atMs for durationUs. */
const flowsTo = (atMs, durationUs, senders, gbps, labelBy = 'aggressors') => ({
  type: 'microburst',
  atMs,
  durationUs,
  leaf: 1,
  host: 0,
  senders,
  rateGbps: gbps / senders,
  payloadBytes: 1400,
  victims: 0,
  victimRateGbps: 0.1,
  labelBy,
});

function scenario(seed, aggressorGbps, decoy = null) {
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
  // decoys made of flows that are no burst (not labelled): slow new flows that persist, and
  // long flows present from the start (part of the queue's level)
  if (decoy === 'slow') events.push(flowsTo(BURST_AT_MS, 5000, 2, 0.4, 'none'));
  if (decoy === 'steady') events.push(flowsTo(0, 24000, 2, 1, 'none'));
  if (aggressorGbps > 0) events.push(flowsTo(BURST_AT_MS, BURST_US, 2, aggressorGbps));
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

function run(s, labelled = true) {
  tap = [];
  const r = simulateToBuffer(s);
  const { profile, overrides } = codecOverridesFor(s);
  const dec = new Decoder(makeConfig(profile, overrides));
  const batch = new RecordBatch(512, 8);
  const an = new Analyzer(CONFIG);
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
  const labels = labelled ? r.labels.anomalies.filter((a) => a.type === 'microburst') : [];
  return { found, samples, labels };
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

/** TP/FP/FN of detection windows against the label window. A label out of scope (the incast
 * did not raise the queue's latency 1.5× over its level before) counts neither way: detections
 * in its window are not scored, and missing it is no miss. */
function score(windows, label, inScope = true) {
  let tp = 0;
  let fp = 0;
  for (const [a, b] of windows) {
    if (label && b >= label[0] - TOL_NS && a <= label[1] + TOL_NS) tp = inScope ? 1 : 0;
    else fp++;
  }
  return { tp, fp, fn: label && inScope && !tp ? 1 : 0 };
}
/** Labelled incasts whose level is in scope (≥ MIN_LEVEL × the 4 ms before), and all. */
const MIN_LEVEL = 1.5;
const scope = new Map();

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
      const ms = (a) =>
        `${(Number(a.start % 1000000000n) / 1e6).toFixed(2)}${process.env.BURST_DEBUG ? `-${(Number(a.end % 1000000000n) / 1e6).toFixed(2)} peak ${a.peakLatency} base ${a.baselineLatency}` : ''}`;
      out.push(
        `seed ${seed}: ${found.length}${found.length ? ` (at ${found.map(ms).join(', ')} ms)` : ''}`,
      );
    }
    console.log(`${name}, 30 ms: ${out.join('; ')}`);
  }
  process.exit(0);
}

// [name, incast Gb/s, decoy flows]
const classes = [
  ['decoy (no burst)', 0, null],
  ['decoy: slow new flows', 0, 'slow'],
  ['decoy: steady flows', 0, 'steady'],
  ['+2 Gb/s', 2, null],
  ['+3 Gb/s', 3, null],
  ['+4 Gb/s', 4, null],
  ['+2 Gb/s on steady flows', 2, 'steady'],
];
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
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
for (let seed = FROM_SEED; seed < FROM_SEED + SEEDS; seed++) {
  for (const [cls, gbps, decoy] of classes) {
    const { found, samples, labels } = run(scenario(seed, gbps, decoy), gbps > 0);
    // the detector's timeline is ns from the epoch of the scenario, near enough (the first
    // record comes µs after it); labels are ns since the Unix epoch
    const epoch = BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1000000n;
    let label = null;
    let inScope = true;
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
      // and against the queue's mean latency over the 4 ms before the incast
      let pre = 0;
      let pn = 0;
      for (let i = 0; i < samples.length; i += 3)
        if (samples[i] >= label[0] - 4e6 && samples[i] < label[0]) {
          pre += samples[i + 1];
          pn++;
        }
      inScope = pn > 0 && sum / n / (pre / pn) >= MIN_LEVEL;
      const sc = scope.get(cls) ?? [0, 0];
      sc[0] += inScope ? 1 : 0;
      sc[1]++;
      scope.set(cls, sc);
      const a = ratios.get(cls) ?? [];
      a.push(n && b0 ? `${f2(sum / n / b0)}/${f2(pn ? sum / n / (pre / pn) : 0)}` : '-');
      ratios.set(cls, a);
      if (process.env.BURST_DEBUG)
        process.stderr.write(
          `  label ${(label[0] / 1e6).toFixed(3)}-${(label[1] / 1e6).toFixed(3)} ms, found at ${found.map((a) => (Number(a.start - epoch) / 1e6).toFixed(3)).join(',')}\n`,
        );
    }
    const absWin = found.map((a) => [Number(a.start - epoch), Number(a.end - epoch)]);
    add('the detector', cls, score(absWin, label, inScope));
    for (const { R, D } of RULES)
      add(`S ≥ ${R} × base for ${D / 1e3} µs`, cls, score(relative(samples, R, D), label, inScope));
    process.stderr.write(`seed ${seed} ${cls}: detector found ${found.length}\n`);
  }
}

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
  '\nburst level (mean latency in the label window / the detector baseline at its start, and / the mean latency of the 4 ms before it), per seed:',
);
for (const [c, a] of ratios) console.log(`  ${c}: ${a.join(', ')}`);
console.log(`in scope (level ≥ ${MIN_LEVEL} × the 4 ms before; the others are not scored):`);
for (const [c, [k, n]] of scope) console.log(`  ${c}: ${k} of ${n}`);
