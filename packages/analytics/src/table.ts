/**
 * BoundedTable: a fixed-capacity hash table of multi-word u32 keys, in typed arrays.
 *
 * Entries are dense slot numbers 0..cap-1 that callers use to index their own per-entry
 * typed arrays. Lookups take the key from `scratch` (no allocation). Entries are kept in LRU
 * order (most recently touched first): idle eviction walks from the tail, and inserting into a
 * full table evicts the least recently used entry. `gen[slot]` changes each time a slot is
 * reused, so holders of a slot number can detect that it now belongs to someone else.
 */

// Globals read through module constants: a global lookup per call is slow in vm contexts (jest).
const Mth = Math;
const INF = Number.POSITIVE_INFINITY;
/** Entries of a new table's index (it grows from there). */
const INITIAL_INDEX = 64;

export type EvictReason = 'idle' | 'size' | 'removed';

export class BoundedTable {
  readonly cap: number;
  readonly kw: number;
  /** Key input for find / findOrInsert. */
  readonly scratch: Uint32Array;
  readonly keys: Uint32Array;
  readonly hashes: Uint32Array;
  readonly lastSeen: Float64Array;
  readonly gen: Uint32Array;
  readonly live: Uint8Array;
  size = 0;
  /** Slots ever handed out are below this (free slots are reused lowest-first). */
  highWater = 0;
  inserted = 0;
  evictedIdle = 0;
  evictedSize = 0;
  /** Set by findOrInsert: the returned slot was just created. */
  isNew = false;
  /** Called before a slot is freed (the slot's key and state are still readable). */
  onEvict: ((slot: number, reason: EvictReason) => void) | null = null;

  /** Open addressing index: slot + 1, 0 = empty (a zeroed array needs no fill). It starts
   * small and doubles while more than half full, up to twice the capacity: a table sized for
   * 262,144 flows that holds a hundred probes a few cache lines, not random lines of 2 MB (an
   * analyzer keeps dozens of tables, one set per partition). */
  private index: Int32Array;
  private mask: number;
  private readonly maxIndex: number;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = -1;
  private tail = -1;
  /** Freed slots (reused last freed first); slots at or above highWater are free too, and
   * handed out in order once this is empty. Filled as slots are freed: creating a table
   * touches none of its arrays (an analyzer holds tens of MB of them, mostly never used). */
  private readonly free: Int32Array;
  private freeTop = 0;
  private readonly nowCell = new Float64Array(1);

  constructor(cap: number, kw: number) {
    if (cap < 1) throw new RangeError('table capacity must be ≥ 1');
    this.cap = cap;
    this.kw = kw;
    this.scratch = new Uint32Array(kw);
    this.keys = new Uint32Array(cap * kw);
    this.hashes = new Uint32Array(cap);
    this.lastSeen = new Float64Array(cap);
    this.gen = new Uint32Array(cap);
    this.live = new Uint8Array(cap);
    let n = 16;
    while (n < cap * 2) n *= 2;
    this.maxIndex = n;
    this.index = new Int32Array(Mth.min(n, INITIAL_INDEX));
    this.mask = this.index.length - 1;
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.free = new Int32Array(cap);
  }

  /** Bytes held by the table's own arrays (not counting callers' per-slot arrays). */
  get bytes(): number {
    return (
      this.keys.byteLength +
      this.hashes.byteLength +
      this.lastSeen.byteLength +
      this.gen.byteLength +
      this.live.byteLength +
      this.index.byteLength +
      this.prev.byteLength +
      this.next.byteLength +
      this.free.byteLength
    );
  }

  private hashScratch(): number {
    const s = this.scratch;
    let h = 0x811c9dc5 ^ this.kw;
    for (let i = 0; i < s.length; i++) {
      h = Mth.imul(h ^ s[i], 0x01000193);
      h ^= h >>> 15;
      h = Mth.imul(h, 0x2c1b3c6d);
    }
    h ^= h >>> 16;
    h = Mth.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h >>> 0;
  }

  private keyEquals(slot: number): boolean {
    const s = this.scratch;
    const k = this.keys;
    const base = slot * this.kw;
    for (let i = 0; i < s.length; i++) if (k[base + i] !== s[i]) return false;
    return true;
  }

  /** Slot of the key in `scratch`, or -1. Does not touch. */
  find(): number {
    const h = this.hashScratch();
    let p = h & this.mask;
    for (;;) {
      const e = this.index[p] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === h && this.keyEquals(e)) return e;
      p = (p + 1) & this.mask;
    }
  }

  /** Slot of the key in `scratch`, created (evicting the LRU entry if full) when missing; touched. */
  findOrInsert(now: number): number {
    this.nowCell[0] = now;
    return this.findOrInsertAt(this.nowCell);
  }

  /** findOrInsert at the time in `clock[0]` (a hot caller's clock cell: no boxed argument). */
  findOrInsertAt(clock: Float64Array): number {
    const now = clock[0];
    const h = this.hashScratch();
    let p = h & this.mask;
    for (;;) {
      const e = this.index[p] - 1;
      if (e < 0) break;
      if (this.hashes[e] === h && this.keyEquals(e)) {
        this.isNew = false;
        this.touch(e, now);
        return e;
      }
      p = (p + 1) & this.mask;
    }
    if (this.size === this.cap) {
      this.evict(this.tail, 'size');
      // the probe position may have changed after the backward shift: find it again
      p = h & this.mask;
      while (this.index[p] !== 0) p = (p + 1) & this.mask;
    } else if ((this.size + 1) * 2 > this.index.length && this.index.length < this.maxIndex) {
      this.grow();
      p = h & this.mask;
      while (this.index[p] !== 0) p = (p + 1) & this.mask;
    }
    // lowest never-used slot once no freed one is waiting (the order a full free list had)
    const slot = this.freeTop > 0 ? this.free[--this.freeTop] : this.highWater++;
    this.index[p] = slot + 1;
    this.hashes[slot] = h;
    this.keys.set(this.scratch, slot * this.kw);
    this.gen[slot] = (this.gen[slot] + 1) >>> 0;
    this.live[slot] = 1;
    this.lastSeen[slot] = now;
    this.size++;
    this.inserted++;
    this.linkHead(slot);
    this.isNew = true;
    return slot;
  }

  /** Doubles the index and places every live slot again. */
  private grow(): void {
    const index = new Int32Array(this.index.length * 2);
    const mask = index.length - 1;
    for (let s = 0; s < this.highWater; s++) {
      if (!this.live[s]) continue;
      let p = this.hashes[s] & mask;
      while (index[p] !== 0) p = (p + 1) & mask;
      index[p] = s + 1;
    }
    this.index = index;
    this.mask = mask;
  }

  touch(slot: number, now: number): void {
    if (now > this.lastSeen[slot]) this.lastSeen[slot] = now;
    if (this.head === slot) return;
    this.unlink(slot);
    this.linkHead(slot);
  }

  /** Evicts entries idle for more than idleNs (walks from the LRU tail). */
  evictIdle(now: number, idleNs: number, max = INF): number {
    let n = 0;
    while (this.tail >= 0 && n < max && now - this.lastSeen[this.tail] > idleNs) {
      this.evict(this.tail, 'idle');
      n++;
    }
    return n;
  }

  /** Live slots, least recently used first (importing them in this order rebuilds the LRU
   * order). */
  lruSlots(): number[] {
    const out: number[] = [];
    for (let s = this.tail; s >= 0 && out.length <= this.cap; s = this.prev[s]) out.push(s);
    return out;
  }

  remove(slot: number): void {
    if (this.live[slot]) this.evict(slot, 'removed');
  }

  private evict(slot: number, reason: EvictReason): void {
    if (this.onEvict) this.onEvict(slot, reason);
    if (reason === 'idle') this.evictedIdle++;
    else if (reason === 'size') this.evictedSize++;
    // remove from the index (linear probing, backward-shift deletion)
    let p = this.hashes[slot] & this.mask;
    while (this.index[p] !== slot + 1) p = (p + 1) & this.mask;
    let j = p;
    for (;;) {
      j = (j + 1) & this.mask;
      const e = this.index[j] - 1;
      if (e < 0) break;
      const k = this.hashes[e] & this.mask;
      // move e back to p if its home position k is not cyclically within (p, j]
      const inRange = p <= j ? k > p && k <= j : k > p || k <= j;
      if (!inRange) {
        this.index[p] = e + 1;
        p = j;
      }
    }
    this.index[p] = 0;
    this.unlink(slot);
    this.live[slot] = 0;
    this.free[this.freeTop++] = slot;
    this.size--;
  }

  private linkHead(slot: number): void {
    this.prev[slot] = -1;
    this.next[slot] = this.head;
    if (this.head >= 0) this.prev[this.head] = slot;
    this.head = slot;
    if (this.tail < 0) this.tail = slot;
  }

  private unlink(slot: number): void {
    const a = this.prev[slot];
    const b = this.next[slot];
    if (a >= 0) this.next[a] = b;
    else if (this.head === slot) this.head = b;
    if (b >= 0) this.prev[b] = a;
    else if (this.tail === slot) this.tail = a;
    this.prev[slot] = -1;
    this.next[slot] = -1;
  }
}
