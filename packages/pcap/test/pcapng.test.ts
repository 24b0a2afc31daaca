/** Hand-built pcapng files: both byte orders, several sections, interfaces and block types. */
import { CaptureFormatError, LinkType, PcapngReader, readCaptureBuffer } from '../src';
import { epb, idb, opb, readAll, shb, spb, block } from './helpers';

const data = (n: number, seed: number): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

describe.each([true, false])('pcapng, little-endian=%s', (le) => {
  it('reads EPBs of several interfaces with different link types and resolutions', () => {
    const file = Buffer.concat([
      shb(le),
      idb(le, { linkType: LinkType.ETHERNET, name: 'eth0' }), // default: µs
      idb(le, { linkType: LinkType.RAW, tsresol: 9 }), // ns
      idb(le, { linkType: LinkType.LINUX_SLL2, tsresol: 0x80 | 20, tsoffset: 100n }), // 2^-20 s
      idb(le, { linkType: LinkType.IPV6, tsresol: 3, tsoffset: -5n }), // ms
      idb(le, { linkType: LinkType.IPV4, tsresol: 12 }), // ps
      epb(le, 0, 1_700_000_000_123_456n, data(60, 1)),
      epb(le, 1, 1_700_000_000_987_654_321n, data(61, 2), 1500),
      epb(le, 2, (1_700_000_000n << 20n) + (1n << 19n), data(1, 3)), // + 0.5 s
      epb(le, 3, 1_700_000_000_250n, data(0, 4)),
      epb(le, 4, 10_000_000_123_456_789_499n, data(5, 5)), // (64-bit ps only reach ~213 days) rounds down to ...789 ns
      epb(le, 4, 10_000_000_123_456_789_500n, data(5, 5)), // rounds up to ...790 ns
    ]);
    const r = readCaptureBuffer(file);
    expect(r.format).toBe('pcapng');
    const p = readAll(r);
    expect(r.error).toBeNull();
    expect(p.map((x) => [x.interfaceId, x.linkType, x.tsSec, x.tsNsec])).toEqual([
      [0, LinkType.ETHERNET, 1_700_000_000, 123_456_000],
      [1, LinkType.RAW, 1_700_000_000, 987_654_321],
      [2, LinkType.LINUX_SLL2, 1_700_000_100, 500_000_000],
      [3, LinkType.IPV6, 1_699_999_995, 250_000_000],
      [4, LinkType.IPV4, 10_000_000, 123_456_789],
      [4, LinkType.IPV4, 10_000_000, 123_456_790],
    ]);
    expect(p[0].data.equals(data(60, 1))).toBe(true);
    expect(p[1].data.equals(data(61, 2))).toBe(true);
    expect(p[1].originalLength).toBe(1500);
    expect(p[3].capturedLength).toBe(0);
    expect(p.map((x) => x.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((r as PcapngReader).interfaces[0].name).toBe('eth0');
    expect(r.bytesRead).toBe(file.length);
  });

  it('reads SPB (interface 0 snaplen), OPB and skips unknown blocks', () => {
    const file = Buffer.concat([
      shb(le),
      block(le, 0x00000bad, Buffer.alloc(20, 0xee)), // unknown type
      idb(le, { linkType: LinkType.ETHERNET, snaplen: 8, tsresol: 6 }),
      spb(le, 20, data(8, 9)), // original 20 bytes, 8 captured (snaplen)
      block(le, 5, Buffer.alloc(8)), // ISB-like statistics block: skipped
      opb(le, 0, 42_000_001n, data(8, 1)),
      spb(le, 3, data(3, 2)),
    ]);
    const r = readCaptureBuffer(file);
    const p = readAll(r);
    expect(r.error).toBeNull();
    expect(p).toHaveLength(3);
    expect([p[0].capturedLength, p[0].originalLength, p[0].tsSec, p[0].tsNsec]).toEqual([
      8, 20, 0, 0,
    ]);
    expect(p[0].data.equals(data(8, 9))).toBe(true);
    expect([p[1].tsSec, p[1].tsNsec, p[1].linkType]).toEqual([42, 1000, LinkType.ETHERNET]);
    expect(p[1].data.equals(data(8, 1))).toBe(true);
    expect(p[2].data.equals(data(3, 2))).toBe(true);
  });
});

describe('pcapng sections', () => {
  it('handles several sections with different byte orders, resetting interfaces', () => {
    const file = Buffer.concat([
      shb(true),
      idb(true, { linkType: LinkType.ETHERNET, tsresol: 9 }),
      epb(true, 0, 5_000_000_001n, data(10, 1)),
      shb(false),
      idb(false, { linkType: LinkType.RAW, tsresol: 6 }),
      epb(false, 0, 7_000_002n, data(11, 2)),
      shb(true),
      idb(true, { linkType: LinkType.NULL }),
      idb(true, { linkType: LinkType.LINUX_SLL, tsresol: 0 }),
      epb(true, 1, 9n, data(12, 3)),
    ]);
    const r = readCaptureBuffer(file) as PcapngReader;
    const p = readAll(r);
    expect(r.error).toBeNull();
    expect(r.sections).toBe(3);
    expect(p.map((x) => [x.linkType, x.interfaceId, x.tsSec, x.tsNsec, x.data.length])).toEqual([
      [LinkType.ETHERNET, 0, 5, 1, 10],
      [LinkType.RAW, 0, 7, 2000, 11],
      [LinkType.LINUX_SLL, 1, 9, 0, 12],
    ]);
  });

  it('an interface of an earlier section is not visible in the next one', () => {
    const file = Buffer.concat([shb(true), idb(true), shb(true), epb(true, 0, 1n, data(4, 0))]);
    const r = readCaptureBuffer(file);
    expect(r.next()).toBeNull();
    expect(r.error?.reason).toMatch(/undeclared interface 0/);
    expect(r.truncated).toBe(false);
  });

  it('rejects unsupported versions and non-SHB starts at open', () => {
    expect(() => readCaptureBuffer(Buffer.concat([shb(true, 2), idb(true)]))).toThrow(
      /unsupported pcapng version 2/,
    );
    const badMagic = shb(true);
    badMagic.writeUInt32LE(0x12345678, 8);
    expect(() => readCaptureBuffer(badMagic)).toThrow(CaptureFormatError);
  });

  it('rejects an if_tsresol it cannot convert', () => {
    const r = readCaptureBuffer(Buffer.concat([shb(true), idb(true, { tsresol: 19 })]));
    expect(r.next()).toBeNull();
    expect(r.error?.reason).toMatch(/if_tsresol/);
  });
});
