/**
 * Fuzz harness for the decoder: feeds truncated, bit-flipped, spliced and random packets and
 * checks that every packet is accounted for (records or one counted rejection), that nothing
 * escapes as an exception, and that memory stays bounded. Used by the jest suite (a quick
 * run) and by `benchmarks/fuzz-decoder.js` (millions of packets).
 */
import { RecordBatch } from './batch';
import { CodecConfig } from './config';
import { Decoder } from './decoder';
import { REJECT_NAMES } from './reasons';

export interface FuzzReport {
  packets: number;
  /** Packets that produced at least one record. */
  decoded: number;
  records: number;
  rejected: number;
  /** Rejections by reason name. */
  byReason: Record<string, number>;
  /** Packets whose decoding hit the decoder's last-resort exception guard (must be 0). */
  internalErrors: number;
  /** Examples of internal errors (hex) for debugging. */
  internalExamples: string[];
  /** Packets for which records + rejection did not add up (must be 0). */
  unaccounted: number;
  maxHopsPerRecord: number;
  elapsedMs: number;
}

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Produces the i-th mutated packet from the seeds into `out`; returns its length. */
function mutate(seeds: Uint8Array[], rnd: () => number, out: Uint8Array): number {
  const s = seeds[Math.floor(rnd() * seeds.length)];
  const kind = rnd();
  if (kind < 0.05) {
    // pure random bytes
    const n = Math.floor(rnd() * Math.min(out.length, 600));
    for (let i = 0; i < n; i++) out[i] = (rnd() * 256) | 0;
    return n;
  }
  out.set(s.subarray(0, Math.min(s.length, out.length)));
  let n = Math.min(s.length, out.length);
  if (kind < 0.35) {
    // truncation
    return Math.floor(rnd() * n);
  }
  if (kind < 0.8) {
    // flip 1-8 bits, biased towards the first 160 bytes where the headers are
    const flips = 1 + Math.floor(rnd() * 8);
    for (let f = 0; f < flips; f++) {
      const pos = Math.floor(rnd() * Math.min(n, rnd() < 0.8 ? 160 : n));
      out[pos] ^= 1 << Math.floor(rnd() * 8);
    }
    return n;
  }
  if (kind < 0.9) {
    // overwrite a byte with an interesting value (0, 0xff, small lengths)
    const pos = Math.floor(rnd() * Math.min(n, 160));
    const vals = [0, 0xff, 1, 2, 3, 0x1f, 0x20, 0x7f, 0x80];
    out[pos] = vals[Math.floor(rnd() * vals.length)];
    return n;
  }
  // splice: the head of one seed with the tail of another
  const t = seeds[Math.floor(rnd() * seeds.length)];
  const cut = Math.floor(rnd() * n);
  const from = Math.floor(rnd() * t.length);
  const take = Math.min(t.length - from, out.length - cut);
  out.set(t.subarray(from, from + take), cut);
  n = cut + take;
  return n;
}

export function runFuzz(opts: {
  seeds: Uint8Array[];
  configs: CodecConfig[];
  iterations: number;
  seed?: number;
  linkType?: number;
}): FuzzReport {
  const rnd = prng(opts.seed ?? 1);
  const decoders = opts.configs.map((c) => new Decoder(c));
  const batch = new RecordBatch(1024, 8);
  const buf = new Uint8Array(2048);
  const report: FuzzReport = {
    packets: 0,
    decoded: 0,
    records: 0,
    rejected: 0,
    byReason: {},
    internalErrors: 0,
    internalExamples: [],
    unaccounted: 0,
    maxHopsPerRecord: 0,
    elapsedMs: 0,
  };
  const t0 = Date.now();
  for (let i = 0; i < opts.iterations; i++) {
    const n = mutate(opts.seeds, rnd, buf);
    const pkt = buf.subarray(0, n);
    const dec = decoders[i % decoders.length];
    if (batch.count > 900) batch.reset();
    const before = batch.count;
    const res = dec.decode(pkt, opts.linkType ?? 1, 0, 0, i + 1, batch);
    report.packets++;
    if (res > 0) {
      report.decoded++;
      report.records += res;
      if (batch.count - before !== res) report.unaccounted++;
      for (let r = before; r < batch.count; r++) {
        if (batch.hopCount[r] > report.maxHopsPerRecord)
          report.maxHopsPerRecord = batch.hopCount[r];
      }
    } else {
      report.rejected++;
      if (batch.count !== before || res === 0) report.unaccounted++;
      const name = REJECT_NAMES[-res] ?? `unknown-${-res}`;
      report.byReason[name] = (report.byReason[name] ?? 0) + 1;
    }
    if (dec.lastDetail.startsWith('internal:')) {
      report.internalErrors++;
      if (report.internalExamples.length < 5) {
        report.internalExamples.push(`${dec.lastDetail} ${Buffer.from(pkt).toString('hex')}`);
      }
    }
  }
  report.elapsedMs = Date.now() - t0;
  return report;
}
