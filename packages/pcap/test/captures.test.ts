/** Third-party captures from ../shared/captures (see its PROVENANCE.md). */
import * as fs from 'node:fs';
import * as path from 'node:path';
// pcap-parser ships no types; it is an independent classic-pcap (µs) parser to cross-check with.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pcapParser = require('pcap-parser') as {
  parse(file: string): NodeJS.EventEmitter;
};
import { openCapture, LinkType } from '../src';
import { readAll, type Read } from './helpers';

const DIR = path.resolve(__dirname, '../../../../shared/captures');
const HAVE = fs.existsSync(DIR);
if (!HAVE) {
  console.warn(`[pcap] ${DIR} not found: third-party capture tests are skipped`);
}
const describeShared = HAVE ? describe : describe.skip;

const COUNTS: Record<string, number> = {
  'intcollector_tr-v1.0_int-v1.0_and_v0.5.pcap': 3,
  'laofan13-p4-int_int-mx_s1-cpu-eth0_out.pcap': 1,
  'laofan13-p4-int_int-mx_s1-eth1_in.pcap': 5,
  'laofan13-p4-int_int-mx_s1-eth2_out.pcap': 1,
  'laofan13-p4-int_int-mx_s2-cpu-eth0_out.pcap': 1,
  'laofan13-p4-int_int-mx_s2-eth2_out.pcap': 1,
  'laofan13-p4-int_int-mx_s3-cpu-eth0_out.pcap': 1,
  'laofan13-p4-int_int-mx_s3-eth2_out.pcap': 1,
  'netronome-p4-int-transit_gpe_bfoot.pcap': 1,
  'netronome-p4-int-transit_gpe_int_1sets.pcap': 1,
  'netronome-p4-int-transit_gpe_int_2sets.pcap': 1,
  'netronome-p4-int-transit_gpe_int_3sets.pcap': 1,
  'prometheus-int-exporter_tr-v0.5_int-v0.5.nsec.pcap': 1,
  'prometheus-int-exporter_tr-v0.5_int-v0.5.pcap': 1,
  'scapy-pr4230_int-v2.1_udp-tcp.pcap': 16,
  'scapy-pr4230_int-v2.1_udp-tcp.pcapng': 16,
};

function read(name: string, chunkSize?: number): Read[] {
  const r = openCapture(path.join(DIR, name), { chunkSize });
  try {
    const pkts = readAll(r);
    expect(r.error).toBeNull();
    expect(r.truncated).toBe(false);
    expect(r.bytesRead).toBe(r.fileSize);
    return pkts;
  } finally {
    r.close();
  }
}

/** All packets of a µs classic pcap as pcap-parser sees them. */
function parseWithPcapParser(
  file: string,
): Promise<{ sec: number; usec: number; caplen: number; orig: number; data: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const out: { sec: number; usec: number; caplen: number; orig: number; data: Buffer }[] = [];
    const p = pcapParser.parse(file);
    p.on('packet', (pkt: { header: Record<string, number>; data: Buffer }) => {
      out.push({
        sec: pkt.header.timestampSeconds,
        usec: pkt.header.timestampMicroseconds,
        caplen: pkt.header.capturedLength,
        orig: pkt.header.originalLength,
        data: Buffer.from(pkt.data),
      });
    });
    p.on('error', reject);
    p.on('end', () => resolve(out));
  });
}

describeShared('third-party captures', () => {
  it('has exactly the files listed in PROVENANCE.md', () => {
    const files = fs
      .readdirSync(DIR)
      .filter((f) => /\.pcap(ng)?$/.test(f))
      .sort();
    expect(files).toEqual(Object.keys(COUNTS).sort());
  });

  it.each(Object.entries(COUNTS))(
    '%s has %i packets, all Ethernet, frames numbered 1..n',
    (name, n) => {
      const pkts = read(name);
      expect(pkts).toHaveLength(n);
      pkts.forEach((p, i) => {
        expect(p.index).toBe(i + 1);
        expect(p.linkType).toBe(LinkType.ETHERNET);
        expect(p.capturedLength).toBe(p.data.length);
        expect(p.originalLength).toBe(p.capturedLength);
        expect(p.tsNsec).toBeGreaterThanOrEqual(0);
        expect(p.tsNsec).toBeLessThan(1e9);
        // Every file is Ethernet: the EtherType is IPv4, IPv6 or ARP.
        expect([0x0800, 0x86dd, 0x0806]).toContain(p.data.readUInt16BE(12));
      });
    },
  );

  it('scapy .pcap and .pcapng hold the same 16 packets and timestamps', () => {
    const a = read('scapy-pr4230_int-v2.1_udp-tcp.pcap');
    const b = read('scapy-pr4230_int-v2.1_udp-tcp.pcapng');
    expect(b).toEqual(a);
    expect(a.map((p) => p.tsSec)).toEqual(Array.from({ length: 16 }, (_, i) => 1700000000 + i));
    expect(a.every((p) => p.tsNsec === 0)).toBe(true);
    expect(a[0].capturedLength).toBe(202);
    // Packet 1: IPv4 ToS 0x80 (INT marked by DSCP), UDP to port 9028.
    expect(a[0].data[15]).toBe(0x80);
    expect(a[0].data.readUInt16BE(14 + 20 + 2)).toBe(9028);
    // Packets 9-16 go to the placeholder port 17768 (0x4568).
    const ipv4 = a[8].data.readUInt16BE(12) === 0x0800;
    const l4 = 14 + (ipv4 ? (a[8].data[14] & 0x0f) * 4 : 40);
    expect(a[8].data.readUInt16BE(l4 + 2)).toBe(17768);
  });

  it('prometheus .pcap (µs) and .nsec.pcap (ns) give the same packet and timestamp', () => {
    const [us] = read('prometheus-int-exporter_tr-v0.5_int-v0.5.pcap');
    const [ns] = read('prometheus-int-exporter_tr-v0.5_int-v0.5.nsec.pcap');
    expect(ns).toEqual(us);
    expect(us.tsSec).toBe(1518507719);
    expect(us.tsNsec).toBe(283993000);
    expect(us.capturedLength).toBe(137);
    // Outer IPv4 10.0.3.5 -> 10.0.2.4, UDP dst port 1234, then the TR v0.5 fixed header.
    expect([...us.data.subarray(26, 34)]).toEqual([10, 0, 3, 5, 10, 0, 2, 4]);
    expect(us.data.readUInt16BE(36)).toBe(1234);
    expect(us.data.readUInt32BE(42)).toBe(0x00200001);
  });

  it('reads the same packets with a 64-byte chunk (records straddle chunk boundaries)', () => {
    for (const name of Object.keys(COUNTS)) {
      expect(read(name, 64)).toEqual(read(name));
    }
  });

  const usFiles = Object.keys(COUNTS).filter(
    (f) => f.endsWith('.pcap') && !f.endsWith('.nsec.pcap'),
  );
  it.each(usFiles)('%s matches pcap-parser byte for byte', async (name) => {
    const theirs = await parseWithPcapParser(path.join(DIR, name));
    const ours = read(name);
    expect(theirs).toHaveLength(ours.length);
    ours.forEach((p, i) => {
      const t = theirs[i];
      expect(p.tsSec).toBe(t.sec);
      expect(p.tsNsec).toBe(t.usec * 1000);
      expect(p.capturedLength).toBe(t.caplen);
      expect(p.originalLength).toBe(t.orig);
      expect(p.data.equals(t.data)).toBe(true);
    });
  });
});
