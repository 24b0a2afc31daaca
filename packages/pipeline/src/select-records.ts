/**
 * Copies the records of a RecordBatch selected by a mask into another batch (hops, their
 * domain-specific words and conformance findings included). For the capture ledger: a batch
 * that straddles what is already stored goes to the store without the stored records. Only
 * such boundary batches come here (a few per resumed replay), so clarity over speed: column
 * by column over the selected records, no per-record objects.
 */
import { HOP_COLUMNS, RECORD_COLUMNS, type RecordBatch } from '@hopwatch/codec';

type Column = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
type Columns = Record<string, Column>;

/** Resets `dst` and fills it with the records r of `src` where keep[r] is 1. Returns the count. */
export function selectRecords(src: RecordBatch, keep: Uint8Array, dst: RecordBatch): number {
  dst.reset();
  const n = src.count;
  let records = 0;
  let hops = 0;
  let ds = 0;
  for (let r = 0; r < n; r++) {
    if (keep[r] !== 1) continue;
    records++;
    const start = src.hopStart[r];
    for (let h = start, end = start + src.hopCount[r]; h < end; h++) ds += src.dsCount[h];
    hops += src.hopCount[r];
  }
  while (dst.capacity < records) {
    dst.count = dst.capacity; // ensureRecord() grows when count reaches capacity
    dst.ensureRecord();
  }
  dst.count = 0;
  dst.ensureHops(hops);
  dst.ensureDs(ds);
  const s = src as unknown as Columns;
  const d = dst as unknown as Columns;
  for (const [name, , per] of RECORD_COLUMNS) {
    if (name === 'hopStart') continue;
    const a = s[name];
    const b = d[name];
    let k = 0;
    for (let r = 0; r < n; r++) {
      if (keep[r] !== 1) continue;
      for (let i = 0; i < per; i++) b[k * per + i] = a[r * per + i];
      k++;
    }
  }
  // hops in record order, back to back; ds words re-based
  let hk = 0;
  let dk = 0;
  let k = 0;
  for (let r = 0; r < n; r++) {
    if (keep[r] !== 1) continue;
    dst.hopStart[k++] = hk;
    const start = src.hopStart[r];
    const cnt = src.hopCount[r];
    for (const [name] of HOP_COLUMNS) {
      if (name === 'dsStart') continue;
      const a = s[name];
      const b = d[name];
      for (let i = 0; i < cnt; i++) b[hk + i] = a[start + i];
    }
    for (let i = 0; i < cnt; i++) {
      const h = start + i;
      const c = src.dsCount[h];
      dst.dsStart[hk + i] = dk;
      for (let w = 0; w < c; w++) dst.dsWords[dk + w] = src.dsWords[src.dsStart[h] + w];
      dk += c;
    }
    hk += cnt;
  }
  dst.count = records;
  dst.hopTotal = hk;
  dst.dsTotal = dk;
  if (src.findings.length) {
    // record index in dst of each kept record of src
    let at = 0;
    const index = new Int32Array(n).fill(-1);
    for (let r = 0; r < n; r++) if (keep[r] === 1) index[r] = at++;
    for (const f of src.findings)
      if (f.record < n && index[f.record] >= 0) dst.addFinding(index[f.record], f.kind, f.detail);
  }
  return records;
}
