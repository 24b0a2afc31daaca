/**
 * The decoder's fast path must give exactly what the general walker gives: same return
 * codes, same columns, same findings, for well-formed, unusual and corrupted packets.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  buildIntPacket,
  buildReport,
  Decoder,
  HOP_COLUMNS,
  makeConfig,
  prng,
  RECORD_COLUMNS,
  RecordBatch,
} from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';

// every scalar record column (addresses are compared word by word below) and every hop column
const RECORD_COLS = RECORD_COLUMNS.filter(([, , per]) => per === 1).map(([name]) => name);
const HOP_COLS = HOP_COLUMNS.map(([name]) => name).filter((n) => n !== 'dsStart');

const col = (b: RecordBatch, name: string): ArrayLike<number> =>
  (b as unknown as Record<string, ArrayLike<number>>)[name];

function packets(): Uint8Array[] {
  const rnd = prng(99);
  const out: Uint8Array[] = [];
  const bitmaps = [0xff00, 0xf000, 0x8000, 0xb000, 0xfe00, 0xff80, 0x9001, 0x8040, 0xc000];
  for (let i = 0; i < 3000; i++) {
    const bitmap = bitmaps[i % bitmaps.length];
    const v1 = i % 11 === 0;
    const nh = Math.floor(rnd() * 7);
    const hops = Array.from({ length: nh }, (_, h) => ({
      switchId: rnd() < 0.05 ? undefined : h + 1,
      ingressPort: 1,
      egressPort: 2 + h,
      hopLatency: Math.floor(rnd() * 5000),
      queueId: h % 4,
      queueOccupancy: Math.floor(rnd() * 100000),
      ingressTimestamp: BigInt(Math.floor(rnd() * 1e12)),
      egressTimestamp: BigInt(Math.floor(rnd() * 1e12)),
      l2IngressPort: 7,
      l2EgressPort: 8,
      txUtilization: 3,
      bufferId: 1,
      bufferOccupancy: 9,
      checksumComplement: 0x1234,
      dsMetadata: i % 10 === 0 && !v1 ? [0xabcd] : undefined,
    }));
    out.push(
      buildIntPacket(
        {
          ipVersion: i % 17 === 0 ? 6 : 4,
          srcAddr: i % 17 === 0 ? '2001:db8::1' : `10.0.0.${i & 255}`,
          dstAddr: i % 17 === 0 ? '2001:db8::2' : '10.9.9.9',
          protocol: i % 13 === 0 ? 6 : 17,
          srcPort: 1000 + i,
          dstPort: 443,
          dscp: i % 5,
          payload: new Uint8Array(i % 40),
        },
        {
          version: v1 ? '1.0' : '2.1',
          mode: 'MD',
          instructionBitmap: v1 ? 0xf000 : bitmap,
          hops,
          discard: !v1 && i % 7 === 0,
          hopLimitExceeded: i % 9 === 0,
          domainSpecificId: !v1 && i % 10 === 0 ? 5 : 0,
        },
        { kind: i % 13 === 0 ? 'tcp-dscp' : 'udp-dscp', dscpValue: 0x17 },
      ),
    );
  }
  // the same packets inside Telemetry Reports (the outer headers take a fast path too)
  const versions = ['2.0', '1.0', '0.5'] as const;
  const plain = out.length;
  for (let i = 0; i < plain; i += 4) {
    const version = versions[(i >> 2) % 3];
    const innerOnly = version === '2.0' && i % 8 === 0;
    out.push(
      buildReport({
        version,
        srcAddr: `192.168.${i & 255}.9`,
        dstAddr: '192.168.0.10',
        dstPort: 32766,
        hwId: 1,
        sequence: i,
        nodeId: 9 + i,
        reports: [
          {
            repType: innerOnly ? 0 : 1,
            inType: 3,
            ...(innerOnly
              ? {}
              : {
                  repMdBits: version === '2.0' ? [0x7000, 0xff00, 0x8000][i % 3] : 0x3f,
                  metadata: {
                    ingressPort: 1,
                    egressPort: 2,
                    hopLatency: i,
                    queueId: 1,
                    queueOccupancy: 20,
                  },
                }),
            dropped: i % 12 === 0,
            inner: out[i],
          },
        ],
      }),
    );
  }
  // snap-length cuts: the payload (and sometimes the stack) cut off the end
  const n0 = out.length;
  for (let i = 0; i < n0; i++)
    out.push(out[i].subarray(0, Math.max(0, out[i].length - 1 - (i % 48))));
  // corrupted copies: bit flips and truncations in the headers
  const n = out.length;
  for (let i = 0; i < n * 3; i++) {
    const p = Uint8Array.from(out[i % n]);
    if (rnd() < 0.3) out.push(p.subarray(0, Math.floor(rnd() * p.length)));
    else {
      p[Math.floor(rnd() * Math.min(p.length, 80))] ^= 1 << Math.floor(rnd() * 8);
      out.push(p);
    }
  }
  const dir = path.resolve(__dirname, '../../../captures');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.pcap'))) {
    const r = openCapture(path.join(dir, f));
    for (let p = r.next(); p; p = r.next()) out.push(Uint8Array.from(p.data));
    r.close();
  }
  return out;
}

/** Decodes every input with a fast-path decoder and a general-walker one; returns the
 * differences (at most 20) and how many inputs the fast decoder took records from. */
function compareDecoders(
  inputs: Uint8Array[],
  decode: (d: Decoder, input: Uint8Array, i: number, into: RecordBatch) => number,
): { mismatches: string[]; fast: Decoder; slow: Decoder; viaFast: number } {
  const cfg = makeConfig('spec');
  const fast = new Decoder(cfg);
  const slow = new Decoder(cfg, { fastPath: false });
  const bf = new RecordBatch(64, 8);
  const bs = new RecordBatch(64, 8);
  let viaFast = 0;
  const mismatches: string[] = [];
  const diff = (what: string, x: unknown, y: unknown): void => {
    if (x !== y && mismatches.length < 20)
      mismatches.push(`${what}: fast ${String(x)} general ${String(y)}`);
  };
  inputs.forEach((p, i) => {
    bf.reset();
    bs.reset();
    const before = fast.stats.records;
    const a = decode(fast, p, i, bf);
    const b = decode(slow, p, i, bs);
    diff(`packet ${i} result`, a, b);
    if (a > 0 && fast.stats.records - before === a) viaFast++;
    diff(`packet ${i} count`, bf.count, bs.count);
    diff(`packet ${i} hops`, bf.hopTotal, bs.hopTotal);
    for (let r = 0; r < bf.count; r++) {
      for (const c of RECORD_COLS) diff(`packet ${i} ${c}`, col(bf, c)[r], col(bs, c)[r]);
      for (let w = 0; w < 4; w++) {
        diff(`packet ${i} src`, bf.srcAddr[r * 4 + w], bs.srcAddr[r * 4 + w]);
        diff(`packet ${i} dst`, bf.dstAddr[r * 4 + w], bs.dstAddr[r * 4 + w]);
        diff(`packet ${i} reporter`, bf.reporterAddr[r * 4 + w], bs.reporterAddr[r * 4 + w]);
      }
    }
    for (let h = 0; h < bf.hopTotal; h++) {
      for (const c of HOP_COLS) {
        if (c !== 'present' && c !== 'origin' && c !== 'dsCount' && bs.present[h] === 0) continue;
        diff(`packet ${i} hop ${h} ${c}`, col(bf, c)[h], col(bs, c)[h]);
      }
    }
    diff(`packet ${i} findings`, JSON.stringify(bf.findings), JSON.stringify(bs.findings));
  });
  return { mismatches, fast, slow, viaFast };
}

test('fast path and general walker agree column for column', () => {
  const { mismatches, fast, slow, viaFast } = compareDecoders(packets(), (d, p, i, into) =>
    d.decode(p, 1, 5, i, i + 1, into),
  );
  expect(mismatches).toEqual([]);
  expect(fast.stats.records).toBe(slow.stats.records);
  expect(Array.from(fast.stats.rejects)).toEqual(Array.from(slow.stats.rejects));
  expect(viaFast).toBeGreaterThan(1000); // the comparison exercised the fast path
});

test('report datagrams (UDP listener): fast path and general walker agree', () => {
  // the UDP payload of every IPv4/UDP packet to the report port, corrupted ones included
  const datagrams = packets()
    .filter((p) => p.length > 42 && p[12] === 8 && p[13] === 0 && p[14] === 0x45 && p[23] === 17)
    .filter((p) => ((p[36] << 8) | p[37]) === 32766)
    .map((p) => p.subarray(42));
  const v4 = Uint32Array.of(0, 0, 0, 0xc0a80009);
  const v6 = Uint32Array.of(0x20010db8, 0, 0, 9);
  const { mismatches, fast, slow, viaFast } = compareDecoders(datagrams, (d, p, i, into) =>
    d.decodeDatagram(p, i % 5 === 0 ? v6 : v4, i % 5 === 0, 5, i, i + 1, into),
  );
  expect(mismatches).toEqual([]);
  expect(Array.from(fast.stats.rejects)).toEqual(Array.from(slow.stats.rejects));
  expect(datagrams.length).toBeGreaterThan(500);
  expect(viaFast).toBeGreaterThan(100);
});
