/** Binary min-heap of (float64 key, int32 value) pairs. Deterministic: the same sequence of
 * operations always yields the same order. */
export class MinHeap {
  private keys = new Float64Array(1024);
  private vals = new Int32Array(1024);
  size = 0;

  push(key: number, val: number): void {
    if (this.size === this.keys.length) this.grow();
    let i = this.size++;
    const k = this.keys;
    const v = this.vals;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (k[p] <= key) break;
      k[i] = k[p];
      v[i] = v[p];
      i = p;
    }
    k[i] = key;
    v[i] = val;
  }

  topKey(): number {
    return this.size > 0 ? this.keys[0] : Infinity;
  }

  /** Removes the top; returns its value. */
  pop(): number {
    const top = this.vals[0];
    const n = --this.size;
    if (n === 0) return top;
    this.siftDown(this.keys[n], this.vals[n]);
    return top;
  }

  /** Replaces the top with (key, val) in one pass (pop + push). */
  replaceTop(key: number, val: number): void {
    this.siftDown(key, val);
  }

  topVal(): number {
    return this.vals[0];
  }

  private siftDown(key: number, val: number): void {
    const k = this.keys;
    const v = this.vals;
    const n = this.size;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && k[c + 1] < k[c]) c++;
      if (key <= k[c]) break;
      k[i] = k[c];
      v[i] = v[c];
      i = c;
    }
    k[i] = key;
    v[i] = val;
  }

  private grow(): void {
    const n = this.keys.length * 2;
    const k = new Float64Array(n);
    k.set(this.keys);
    const v = new Int32Array(n);
    v.set(this.vals);
    this.keys = k;
    this.vals = v;
  }
}
