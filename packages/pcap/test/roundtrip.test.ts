/** Writers -> reader round trips, classic pcap hand-built in both byte orders, and streaming. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  LinkType,
  MemorySink,
  PcapngWriter,
  PcapWriter,
  openCapture,
  readCaptureBuffer,
  type CaptureWriter,
} from '../src';
import { expectSameReads, pcapFile, randomBytes, readAll, rng } from './helpers';

interface Pkt {
  data: Buffer;
  sec: number;
  ns: number;
  ifId: number;
  orig: number;
}

function randomPackets(n: number, seed: number, interfaces = 1, maxLen = 1600): Pkt[] {
  const rand = rng(seed);
  return Array.from({ length: n }, () => {
    const len = Math.floor(rand() * maxLen);
    return {
      data: randomBytes(rand, len),
      sec: 1_600_000_000 + Math.floor(rand() * 2e8),
      ns: Math.floor(rand() * 1e9),
      ifId: Math.floor(rand() * interfaces),
      orig: len + (rand() < 0.2 ? Math.floor(rand() * 9000) : 0),
    };
  });
}

function writeAll(w: CaptureWriter, pkts: Pkt[], withIf: boolean): void {
  for (const p of pkts) w.write(p.data, p.sec, p.ns, withIf ? p.ifId : 0, p.orig);
  w.close();
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-pcap-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('PcapWriter round trip', () => {
  it.each(['us', 'ns'] as const)(
    '%s resolution: same bytes, lengths and timestamps back',
    (resolution) => {
      const pkts = randomPackets(500, resolution === 'us' ? 1 : 2);
      const sink = new MemorySink();
      writeAll(
        new PcapWriter(sink, { resolution, linkType: LinkType.RAW, bufferSize: 8192 }),
        pkts,
        false,
      );
      const buf = sink.toBuffer();
      expect(buf.readUInt32LE(0)).toBe(resolution === 'us' ? 0xa1b2c3d4 : 0xa1b23c4d);
      expect(buf.length).toBe(24 + pkts.reduce((s, p) => s + 16 + p.data.length, 0));
      const r = readCaptureBuffer(buf);
      const got = readAll(r);
      expect(r.error).toBeNull();
      expect(got).toHaveLength(pkts.length);
      got.forEach((g, i) => {
        const p = pkts[i];
        expect(g.data.equals(p.data)).toBe(true);
        expect([g.tsSec, g.tsNsec]).toEqual([
          p.sec,
          resolution === 'us' ? Math.floor(p.ns / 1000) * 1000 : p.ns,
        ]);
        expect([g.originalLength, g.linkType, g.interfaceId, g.index]).toEqual([
          p.orig,
          LinkType.RAW,
          0,
          i + 1,
        ]);
      });
    },
  );

  it('truncates to snaplen and rejects bad arguments', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { snaplen: 100 });
    w.write(Buffer.alloc(300, 1), 1, 2000);
    expect(() => w.write(Buffer.alloc(1), 1, 1e9)).toThrow(RangeError);
    expect(() => w.write(Buffer.alloc(1), -1, 0)).toThrow(RangeError);
    expect(() => w.write(Buffer.alloc(1), 1, 0, 1)).toThrow(/single interface/);
    expect(() => w.write(Buffer.alloc(10), 1, 0, 0, 5)).toThrow(/originalLength/);
    w.close();
    const [p] = readAll(readCaptureBuffer(sink.toBuffer()));
    expect([p.capturedLength, p.originalLength, p.tsSec, p.tsNsec]).toEqual([100, 300, 1, 2000]);
  });

  it('writes a packet larger than its buffer straight through', () => {
    const big = randomBytes(rng(3), 20000);
    const file = path.join(tmp, 'big.pcap');
    const w = new PcapWriter(file, { bufferSize: 4096 });
    w.write(Buffer.alloc(10, 7), 1, 0);
    w.write(big, 2, 0);
    w.write(Buffer.alloc(10, 8), 3, 0);
    w.close();
    const r = openCapture(file, { chunkSize: 64 });
    const got = readAll(r);
    r.close();
    expect(got.map((g) => g.tsSec)).toEqual([1, 2, 3]);
    expect(got[1].data.equals(big)).toBe(true);
    expect(got[2].data.equals(Buffer.alloc(10, 8))).toBe(true);
  });
});

describe('PcapngWriter round trip', () => {
  it('several interfaces with different link types and resolutions', () => {
    const pkts = randomPackets(600, 4, 4);
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, {
      bufferSize: 4096,
      interfaces: [
        { linkType: LinkType.ETHERNET, name: 's1-eth1' },
        { linkType: LinkType.IPV4, tsResolution: 6 },
      ],
    });
    expect(w.addInterface({ linkType: LinkType.LINUX_SLL2, tsResolution: 3, name: 'any' })).toBe(2);
    expect(w.addInterface({ linkType: LinkType.IPV6, tsResolution: 0 })).toBe(3);
    writeAll(w, pkts, true);
    const r = readCaptureBuffer(sink.toBuffer());
    const got = readAll(r);
    expect(r.error).toBeNull();
    expect(got).toHaveLength(pkts.length);
    const linkTypes = [LinkType.ETHERNET, LinkType.IPV4, LinkType.LINUX_SLL2, LinkType.IPV6];
    const unitNs = [1, 1000, 1e6, 1e9];
    got.forEach((g, i) => {
      const p = pkts[i];
      expect(g.data.equals(p.data)).toBe(true);
      expect([g.interfaceId, g.linkType, g.originalLength]).toEqual([
        p.ifId,
        linkTypes[p.ifId],
        p.orig,
      ]);
      const u = unitNs[p.ifId];
      expect([g.tsSec, g.tsNsec]).toEqual([p.sec, Math.floor(p.ns / u) * u]);
    });
    expect('interfaces' in r && r.interfaces.map((i) => i.name)).toEqual([
      's1-eth1',
      null,
      'any',
      null,
    ]);
  });

  it('keeps nanoseconds exact far into the future and applies snaplen', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { interfaces: [{ snaplen: 64 }] });
    w.write(Buffer.alloc(100, 1), 2 ** 34 - 1, 999_999_999);
    w.write(Buffer.alloc(3, 2), 0, 1);
    expect(() => w.write(Buffer.alloc(1), 0, 0, 1)).toThrow(/unknown interface/);
    w.close();
    const got = readAll(readCaptureBuffer(sink.toBuffer()));
    expect(got.map((g) => [g.tsSec, g.tsNsec, g.capturedLength, g.originalLength])).toEqual([
      [2 ** 34 - 1, 999_999_999, 64, 100],
      [0, 1, 3, 3],
    ]);
  });
});

describe('classic pcap built by hand', () => {
  it.each([
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ])('little-endian=%s ns=%s', (le, ns) => {
    const pkts = randomPackets(50, 9, 1, 200);
    const buf = pcapFile(
      { le, ns, linkType: LinkType.LINUX_SLL },
      pkts.map((p) => ({
        sec: p.sec,
        frac: ns ? p.ns : Math.floor(p.ns / 1000),
        data: p.data,
        orig: p.orig,
      })),
    );
    const r = readCaptureBuffer(buf);
    const got = readAll(r);
    expect(r.error).toBeNull();
    expect(r.format).toBe('pcap');
    expect(got).toHaveLength(50);
    got.forEach((g, i) => {
      expect(g.data.equals(pkts[i].data)).toBe(true);
      expect([g.tsSec, g.tsNsec, g.originalLength, g.linkType]).toEqual([
        pkts[i].sec,
        ns ? pkts[i].ns : Math.floor(pkts[i].ns / 1000) * 1000,
        pkts[i].orig,
        LinkType.LINUX_SLL,
      ]);
    });
  });

  it('carries an out-of-range fraction into seconds', () => {
    const [p] = readAll(
      readCaptureBuffer(
        pcapFile({ le: true }, [{ sec: 10, frac: 2_500_000, data: Buffer.alloc(1) }]),
      ),
    );
    expect([p.tsSec, p.tsNsec]).toEqual([12, 500_000_000]);
  });
});

describe('streaming from files', () => {
  it.each([16, 64, 1000, 1 << 20])(
    'chunkSize %i reads the same as the in-memory reader (pcap and pcapng)',
    (chunkSize) => {
      const pkts = randomPackets(300, 11, 2, 3000);
      for (const kind of ['pcap', 'pcapng'] as const) {
        const file = path.join(tmp, `stream-${chunkSize}.${kind}`);
        writeAll(
          kind === 'pcap'
            ? new PcapWriter(file, { resolution: 'ns' })
            : new PcapngWriter(file, { interfaces: [{}, {}] }),
          pkts,
          kind === 'pcapng',
        );
        const r = openCapture(file, { chunkSize });
        const got = readAll(r);
        expect(r.error).toBeNull();
        expect(r.bytesRead).toBe(fs.statSync(file).size);
        expect(r.fileSize).toBe(fs.statSync(file).size);
        r.close();
        r.close(); // idempotent
        expect(r.next()).toBeNull();
        expectSameReads(got, readAll(readCaptureBuffer(fs.readFileSync(file))));
        expect(got.map((g) => g.data.length)).toEqual(pkts.map((p) => p.data.length));
      }
    },
  );

  it('reuses one record object and hands out views into the chunk', () => {
    const sink = new MemorySink();
    writeAll(new PcapWriter(sink), randomPackets(3, 5), false);
    const buf = sink.toBuffer();
    const r = readCaptureBuffer(buf);
    const a = r.next()!;
    expect(a.data.buffer).toBe(buf.buffer); // zero-copy view
    expect(a.buffer.subarray(a.offset, a.offset + a.capturedLength)).toEqual(a.data);
    const b = r.next()!;
    expect(b).toBe(a);
    expect(b.index).toBe(2);
  });

  it('rejects a bad chunkSize', () => {
    const file = path.join(tmp, 'x.pcap');
    new PcapWriter(file).close();
    expect(() => openCapture(file, { chunkSize: 8 })).toThrow(RangeError);
    const r = openCapture(file);
    expect(r.next()).toBeNull();
    expect(r.error).toBeNull();
    r.close();
  });
});
