/**
 * selectRecords (the capture ledger's boundary batches) and captureIdentity, on real decoded
 * captures: the selected records come out field for field, hops, domain-specific words and
 * findings included.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Decoder, HOP_COLUMNS, makeConfig, RECORD_COLUMNS, RecordBatch } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import { captureIdentity } from '@hopwatch/pipeline';
import { selectRecords } from '../src/select-records';

const ROOT = path.resolve(__dirname, '../../..');

function decode(file: string): RecordBatch {
  const d = new Decoder(makeConfig('spec'));
  const b = new RecordBatch(64, 2); // small: grows while filling
  const r = openCapture(path.join(ROOT, file));
  let frame = 0;
  for (let p = r.next(); p; p = r.next())
    d.decode(p.data, p.linkType, p.tsSec, p.tsNsec, ++frame, b);
  r.close();
  // domain-specific words (none of the bundled captures has them): 2 words on every 4th hop
  for (let h = 0; h < b.hopTotal; h += 4) {
    b.ensureDs(2);
    b.dsStart[h] = b.dsTotal;
    b.dsCount[h] = 2;
    b.dsWords[b.dsTotal++] = h;
    b.dsWords[b.dsTotal++] = h ^ 0xffffffff;
  }
  return b;
}

type Cols = Record<string, ArrayLike<number>>;

/** Every field of record r of b, hops and ds words included, as plain values. */
function record(b: RecordBatch, r: number): unknown {
  const c = b as unknown as Cols;
  const out: Record<string, unknown> = {};
  for (const [name, , per] of RECORD_COLUMNS)
    if (name !== 'hopStart')
      out[name] = Array.from({ length: per }, (_, i) => c[name][r * per + i]);
  const hops = [];
  for (let h = b.hopStart[r]; h < b.hopStart[r] + b.hopCount[r]; h++) {
    const hop: Record<string, unknown> = {};
    for (const [name] of HOP_COLUMNS) if (name !== 'dsStart') hop[name] = c[name][h];
    hop.ds = Array.from(b.dsWords.subarray(b.dsStart[h], b.dsStart[h] + b.dsCount[h]));
    hops.push(hop);
  }
  out.hops = hops;
  out.findings = b.findings.filter((f) => f.record === r).map((f) => [f.kind, f.detail]);
  return out;
}

test.each(['captures/microloop.pcap', 'captures/tr-v2.0-md.pcap', 'captures/demo-fabric.pcap'])(
  'selectRecords keeps exactly the selected records of %s',
  (file) => {
    const b = decode(file);
    expect(b.count).toBeGreaterThan(10);
    const dst = new RecordBatch(4, 1);
    for (const pick of [(r: number) => r % 3 !== 1, (r: number) => r >= b.count - 5, () => true]) {
      const keep = new Uint8Array(b.count).map((_, r) => (pick(r) ? 1 : 0));
      const kept = [...keep.keys()].filter((r) => keep[r] === 1);
      expect(selectRecords(b, keep, dst)).toBe(kept.length);
      expect(dst.count).toBe(kept.length);
      expect(dst.hopTotal).toBe(kept.reduce((s, r) => s + b.hopCount[r], 0));
      expect(kept.map((_, k) => record(dst, k))).toEqual(kept.map((r) => record(b, r)));
      expect(dst.dsTotal).toBeGreaterThan(0);
    }
    if (file.includes('microloop')) expect(dst.findings.length).toBeGreaterThan(0);
  },
);

test('captureIdentity: by content, not by name; none for what is not a regular file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-ident-'));
  try {
    const a = path.join(ROOT, 'captures/microloop.pcap');
    const copy = path.join(dir, 'renamed.pcap');
    fs.copyFileSync(a, copy);
    expect(captureIdentity(copy)).toBe(captureIdentity(a));
    expect(captureIdentity(a)).not.toBe(captureIdentity(path.join(ROOT, 'captures/drops.pcap')));
    // one byte changed after the first MiB, or the file grown: another capture
    const big = path.join(dir, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(3 << 20, 7));
    const id = captureIdentity(big);
    const buf = fs.readFileSync(big);
    buf[(3 << 20) - 10] = 8;
    fs.writeFileSync(big, buf);
    expect(captureIdentity(big)).not.toBe(id);
    fs.appendFileSync(big, Buffer.alloc(1));
    expect(captureIdentity(big)).not.toBe(id);
    expect(typeof id).toBe('bigint');
    expect(id! > 0n && id! < 1n << 64n).toBe(true);
    expect(captureIdentity('/dev/null')).toBeNull();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
