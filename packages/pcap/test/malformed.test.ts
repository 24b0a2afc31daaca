/** Bad input: must end in a CaptureFormatError (at open) or a clean stop with `error` set. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CaptureFormatError,
  MemorySink,
  PcapngWriter,
  PcapWriter,
  openCapture,
  readCaptureBuffer,
  type CaptureReader,
} from '../src';
import { Bytes, block, epb, idb, pcapFile, randomBytes, rng, shb } from './helpers';

function validPcap(): Buffer {
  const s = new MemorySink();
  const w = new PcapWriter(s);
  for (let i = 0; i < 5; i++) w.write(Buffer.alloc(10 + i * 3, i), 100 + i, i * 1000);
  w.close();
  return s.toBuffer();
}

function validPcapng(): Buffer {
  const s = new MemorySink();
  const w = new PcapngWriter(s, { interfaces: [{ name: 'a' }, { tsResolution: 6 }] });
  for (let i = 0; i < 5; i++) w.write(Buffer.alloc(10 + i * 3, i), 100 + i, i * 1000, i % 2);
  w.close();
  return s.toBuffer();
}

/** Opens and drains; returns null if open threw a CaptureFormatError, else the stopped reader. */
function drain(buf: Uint8Array): { reader: CaptureReader; count: number } | null {
  let reader: CaptureReader;
  try {
    reader = readCaptureBuffer(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureFormatError);
    return null;
  }
  let count = 0;
  while (reader.next() !== null) {
    count++;
    if (count > buf.length) throw new Error('reader loops');
  }
  expect(reader.next()).toBeNull(); // stays stopped
  return { reader, count };
}

describe('bad headers throw CaptureFormatError at open', () => {
  it.each([
    ['empty input', Buffer.alloc(0), /too short/],
    ['3 bytes', Buffer.from([0xd4, 0xc3, 0xb2]), /too short/],
    ['truncated pcap header', validPcap().subarray(0, 20), /ends inside the pcap file header/],
    [
      'unknown magic',
      Buffer.from('GET / HTTP/1.1\r\n\r\n0123456789'),
      /unknown capture magic 0x47455420/,
    ],
    ['pcap version 1', pcapFile({ le: true, major: 1 }, []), /unsupported pcap version 1.4/],
    ['truncated SHB', shb(true).subarray(0, 20), /ends inside a pcapng block/],
    [
      'SHB with bad length',
      Buffer.concat([shb(true).subarray(0, 4), Buffer.from([13, 0, 0, 0]), shb(true).subarray(8)]),
      /bad pcapng block length 13/,
    ],
  ])('%s', (_name, buf, msg) => {
    let err: unknown;
    try {
      readCaptureBuffer(buf);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect((err as CaptureFormatError).reason).toMatch(msg);
  });

  it('openCapture throws too, and closes the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-pcap-'));
    const f = path.join(dir, 'bad.pcap');
    fs.writeFileSync(f, Buffer.from('not a capture at all, really'));
    expect(() => openCapture(f)).toThrow(CaptureFormatError);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('bad records stop reading with a typed error', () => {
  it.each([
    ['pcap', validPcap()],
    ['pcapng', validPcapng()],
  ])('%s cut at every byte: whole records back, then truncated (or a clean end)', (kind, full) => {
    const all = drain(full)!;
    expect(all.count).toBe(5);
    expect(all.reader.error).toBeNull();
    // Every block (pcapng) or record (pcap) boundary: a cut there is a clean end.
    const boundaries = new Set<number>();
    if (kind === 'pcapng') {
      for (let o = 0; o < full.length; o += full.readUInt32LE(o + 4)) boundaries.add(o);
    } else {
      const r = readCaptureBuffer(full);
      boundaries.add(r.bytesRead);
      while (r.next()) boundaries.add(r.bytesRead);
    }
    let lastCount = 0;
    for (let cut = 0; cut < full.length; cut++) {
      const res = drain(full.subarray(0, cut));
      if (res === null) continue; // header itself cut: thrown at open
      expect(res.count).toBeGreaterThanOrEqual(lastCount);
      lastCount = res.count;
      if (boundaries.has(cut)) {
        expect(res.reader.error).toBeNull();
      } else {
        expect(res.reader.truncated).toBe(true);
        expect(res.reader.error?.offset).toBe(res.reader.bytesRead);
      }
    }
  });

  it('pcap: caplen beyond snaplen is an error, not an allocation', () => {
    const buf = pcapFile({ le: true, snaplen: 100 }, [{ sec: 1, frac: 0, data: Buffer.alloc(4) }]);
    buf.writeUInt32LE(0xfffffff0, 24 + 8);
    const res = drain(buf)!;
    expect(res.count).toBe(0);
    expect(res.reader.truncated).toBe(false);
    expect(res.reader.error?.reason).toBe('captured length 4294967280 exceeds snaplen 100');
    expect(res.reader.error?.offset).toBe(24);
  });

  it('pcap with snaplen 0: absurd caplen (> 256 MiB) is an error, zero caplen is a valid empty packet', () => {
    const buf = pcapFile({ le: false, snaplen: 0 }, [
      { sec: 1, frac: 0, data: Buffer.alloc(0) },
      { sec: 2, frac: 0, data: Buffer.alloc(4) },
    ]);
    buf.writeUInt32BE(300 * 1024 * 1024, 24 + 16 + 8);
    const res = drain(buf)!;
    expect(res.count).toBe(1);
    expect(res.reader.error?.reason).toMatch(/exceeds snaplen 0/);
    expect(res.reader.error?.offset).toBe(40);
  });

  it('pcapng: zero, unaligned, huge and mismatched block lengths', () => {
    const head = Buffer.concat([shb(true), idb(true)]);
    const cases: [Buffer, RegExp][] = [
      [new Bytes(true).u32(6).u32(0).u32(0).toBuffer(), /bad pcapng block length 0/],
      [new Bytes(true).u32(6).u32(33).u32(0).toBuffer(), /bad pcapng block length 33/],
      [
        new Bytes(true).u32(6).u32(0xfffffffc).u32(0).toBuffer(),
        /bad pcapng block length 4294967292/,
      ],
      [
        Buffer.concat([
          block(true, 6, Buffer.alloc(24)).subarray(0, 32),
          Buffer.from([1, 2, 3, 4]),
        ]),
        /trailer length/,
      ],
    ];
    for (const [tail, msg] of cases) {
      const res = drain(Buffer.concat([head, tail]))!;
      expect(res.count).toBe(0);
      expect(res.reader.error?.reason).toMatch(msg);
      expect(res.reader.truncated).toBe(false);
    }
  });

  it('pcapng: caplen overrunning the block or beyond snaplen', () => {
    const over = epb(true, 0, 1n, Buffer.alloc(8));
    over.writeUInt32LE(9, 20);
    let res = drain(Buffer.concat([shb(true), idb(true), over]))!;
    expect(res.reader.error?.reason).toMatch(/overruns its 40 byte block/);
    res = drain(
      Buffer.concat([shb(true), idb(true, { snaplen: 4 }), epb(true, 0, 1n, Buffer.alloc(8))]),
    )!;
    expect(res.reader.error?.reason).toBe('captured length 8 exceeds snaplen 4');
  });

  it('random bytes and random corruption never throw unexpectedly or hang', () => {
    const rand = rng(7);
    const seeds = [validPcap(), validPcapng()];
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      let buf: Buffer;
      if (i % 3 === 0) {
        // Valid magic, random rest.
        buf = Buffer.concat([
          seeds[i % 2].subarray(0, i % 2 ? 28 : 24),
          randomBytes(rand, Math.floor(rand() * 300)),
        ]);
      } else {
        buf = Buffer.from(seeds[i % 2]);
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips; k++)
          buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      }
      const res = drain(buf);
      if (res === null || res.reader.error) errors++;
    }
    expect(errors).toBeGreaterThan(500); // the corruption was noticed, not silently accepted
  });
});
