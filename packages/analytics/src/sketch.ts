/**
 * Log-linear histograms (HDR-style) for u32 values, many per pool, in one typed array.
 *
 * With `bits` = b: values below 2^b are counted exactly; above, each power-of-two range is
 * split into 2^b equal buckets, so a bucket spans at most 2^-b of its lower bound and the
 * bucket midpoint that quantile() returns is within 2^-(b+1) (relative) of any value in it.
 * Memory per histogram: (33 - b) * 2^b u32 counters (b = 5: 896 counters, 3.5 KiB).
 */

// Globals read through module constants: a global lookup per call is slow in vm contexts (jest).
const Mth = Math;
export class SketchPool {
  readonly bits: number;
  readonly buckets: number;
  readonly slots: number;
  readonly counts: Uint32Array;
  readonly total: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;

  constructor(slots: number, bits: number) {
    if (bits < 1 || bits > 8) throw new RangeError('sketch precision bits must be 1..8');
    this.bits = bits;
    this.slots = slots;
    this.buckets = (33 - bits) << bits;
    this.counts = new Uint32Array(slots * this.buckets);
    this.total = new Float64Array(slots);
    this.min = new Float64Array(slots);
    this.max = new Float64Array(slots);
  }

  /** Worst-case relative error of quantile() (bucket half-width over its lower bound). */
  get relativeError(): number {
    return 1 / (1 << (this.bits + 1));
  }

  get bytes(): number {
    return this.counts.byteLength + this.total.byteLength * 3;
  }

  bucketOf(v: number): number {
    const s = 1 << this.bits;
    if (v < s) return v < 0 ? 0 : v | 0;
    if (v > 0xffffffff) v = 0xffffffff;
    const e = 31 - Mth.clz32(v);
    const sub = (v >>> (e - this.bits)) - s;
    return s + ((e - this.bits) << this.bits) + sub;
  }

  /** Lower bound and width of bucket i. */
  private lower(i: number): number {
    const s = 1 << this.bits;
    if (i < s) return i;
    const k = i - s;
    const e = (k >>> this.bits) + this.bits;
    const sub = k & (s - 1);
    return (s + sub) * 2 ** (e - this.bits);
  }

  private width(i: number): number {
    const s = 1 << this.bits;
    if (i < s) return 1;
    return 2 ** ((i - s) >>> this.bits);
  }

  add(slot: number, v: number): void {
    this.counts[slot * this.buckets + this.bucketOf(v)]++;
    const n = this.total[slot];
    if (n === 0 || v < this.min[slot]) this.min[slot] = v;
    if (n === 0 || v > this.max[slot]) this.max[slot] = v;
    this.total[slot] = n + 1;
  }

  clear(slot: number): void {
    this.counts.fill(0, slot * this.buckets, (slot + 1) * this.buckets);
    this.total[slot] = 0;
    this.min[slot] = 0;
    this.max[slot] = 0;
  }

  count(slot: number): number {
    return this.total[slot];
  }

  /** Value at quantile q (0..1) by nearest rank, as its bucket's midpoint clamped to [min, max]. */
  quantile(slot: number, q: number): number | null {
    const n = this.total[slot];
    if (n === 0) return null;
    const rank = Mth.max(1, Mth.ceil(q * n));
    const base = slot * this.buckets;
    let acc = 0;
    for (let i = 0; i < this.buckets; i++) {
      acc += this.counts[base + i];
      if (acc >= rank) {
        const w = this.width(i);
        const mid = this.lower(i) + (w - 1) / 2;
        return Mth.min(this.max[slot], Mth.max(this.min[slot], w === 1 ? this.lower(i) : mid));
      }
    }
    return this.max[slot];
  }
}
