/**
 * Property round trip: random INT packets and Telemetry Reports built by the encoder must
 * decode to exactly what was built, with no findings for conformant input. Checksums are
 * verified here with an independent implementation.
 */
import {
  buildIntPacket,
  buildPlainPacket,
  buildReport,
  decodeOne,
  Decoder,
  makeConfig,
  type CarrierSpec,
  type Deviations,
  type FlowSpec,
  type Hop,
  type HopMetadata,
  type IndividualReportSpec,
  type IntRecord,
  type IntStackSpec,
  type IntVersion,
  type ReportSpec,
  prng,
} from '../src';

// seeded PRNG (mulberry32) from the codec
const mulberry32 = prng;
let rnd = mulberry32(0x1e7);
const int = (max: number): number => Math.floor(rnd() * (max + 1)); // 0..max inclusive
const chance = (p: number): boolean => rnd() < p;
const pick = <T>(a: readonly T[]): T => a[int(a.length - 1)];
const u32 = (): number => (chance(0.05) ? 0xffffffff : int(0xfffffffe));
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(255));

// ------------------------------------------------------------------ independent checksums
function sum16(parts: ArrayLike<number>[]): number {
  let s = 0;
  for (const p of parts)
    for (let i = 0; i < p.length; i += 2) s += (p[i] << 8) + (i + 1 < p.length ? p[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
/** Verifies IPv4 header and TCP/UDP checksums and lengths of an Ethernet frame at `off`. */
function verifyFrame(pkt: Uint8Array, off = 0): void {
  const ip = pkt.subarray(off + 14);
  const v = ip[0] >> 4;
  let hl: number, proto: number, src: Uint8Array, dst: Uint8Array, l4len: number;
  if (v === 4) {
    hl = (ip[0] & 15) * 4;
    if (sum16([ip.subarray(0, hl)]) !== 0xffff) throw new Error('bad IPv4 header checksum');
    proto = ip[9];
    src = ip.subarray(12, 16);
    dst = ip.subarray(16, 20);
    l4len = ((ip[2] << 8) | ip[3]) - hl;
  } else {
    expect(v).toBe(6);
    hl = 40;
    proto = ip[6];
    src = ip.subarray(8, 24);
    dst = ip.subarray(24, 40);
    l4len = (ip[4] << 8) | ip[5];
  }
  if (off + 14 + hl + l4len !== pkt.length) throw new Error('IP length does not match the frame');
  const seg = ip.subarray(hl, hl + l4len);
  if (proto === 17 && ((seg[4] << 8) | seg[5]) !== l4len) throw new Error('bad UDP length');
  if (proto !== 6 && proto !== 17) return;
  if (proto === 17 && seg[6] === 0 && seg[7] === 0) {
    if (v === 6) throw new Error('zero UDP checksum over IPv6');
    return;
  }
  const pseudo = [...src, ...dst, 0, proto, l4len >> 8, l4len & 0xff];
  if (sum16([pseudo, seg]) !== 0xffff)
    throw new Error(`bad ${proto === 6 ? 'TCP' : 'UDP'} checksum`);
}

// ------------------------------------------------------------------ markers
const INT_PORT = 40123;
const GRE_PROTO = 0x88b5;
const DSCP_INT = 0x17;
const MARKER = 'a5a5a5a5deadbeef';
const REPORT_PORT = 32766;
const GPE_NP: Record<IntVersion, number> = { '0.5': 0x05, '1.0': 0x08, '2.0': 0x80, '2.1': 0x82 };
function config(dev: Partial<Deviations> = {}) {
  return makeConfig('spec', {
    intUdpPorts: [INT_PORT],
    intTcpPorts: [INT_PORT],
    greProtocols: [GRE_PROTO],
    dscp: { value: DSCP_INT, mask: 0x3f },
    probeMarker: MARKER,
    reportUdpPorts: [REPORT_PORT],
    deviations: dev,
  });
}

// ------------------------------------------------------------------ generators
function addr(v: 4 | 6): string {
  return v === 4
    ? `10.${int(255)}.${int(255)}.${1 + int(253)}`
    : `2001:db8:${(1 + int(0xfffe)).toString(16)}::${(1 + int(0xfffe)).toString(16)}`;
}
function genFlow(proto?: 6 | 17): FlowSpec {
  const v = pick([4, 6] as const);
  return {
    ipVersion: v,
    srcAddr: addr(v),
    dstAddr: addr(v),
    protocol: proto ?? pick([6, 17] as const),
    srcPort: 1024 + int(28000),
    dstPort: 1024 + int(28000),
    dscp: int(63),
    ttl: 1 + int(254),
    payload: bytes(int(40)),
    ipId: int(0xffff),
    tcpSeq: int(0xffffffff),
  };
}

type Kind = CarrierSpec['kind'] | 'udp-port-npt2';
const CARRIERS: Record<string, Kind[]> = {
  '0.5': ['udp-dscp', 'tcp-dscp', 'udp-port', 'tcp-port', 'udp-probe', 'tcp-probe', 'vxlan-gpe'],
  '1.0': ['udp-dscp', 'tcp-dscp', 'udp-probe', 'tcp-probe', 'geneve', 'vxlan-gpe'],
  '2': [
    'udp-dscp',
    'tcp-dscp',
    'udp-port',
    'udp-port-npt2',
    'tcp-port',
    'udp-probe',
    'tcp-probe',
    'geneve',
    'vxlan-gpe',
    'gre',
  ],
};
const DEFINED_BITS: Record<string, number> = { '0.5': 0xff00, '1.0': 0xff01, '2': 0xff81 };

function carrierFor(kind: Kind, version: IntVersion): CarrierSpec {
  const outerV = pick([4, 6] as const);
  const outer = {
    ipVersion: outerV,
    srcAddr: addr(outerV),
    dstAddr: addr(outerV),
    srcPort: chance(0.5) ? 50000 + int(10000) : undefined,
  };
  switch (kind) {
    case 'udp-dscp':
    case 'tcp-dscp':
      return { kind, dscpValue: DSCP_INT };
    case 'udp-port':
    case 'tcp-port':
      return { kind, port: INT_PORT };
    case 'udp-port-npt2':
      return { kind: 'udp-port', port: INT_PORT, npt: 2 };
    case 'udp-probe':
    case 'tcp-probe':
      return { kind, marker: MARKER, dscpValue: chance(0.5) ? int(63) : undefined };
    case 'geneve':
      return { kind, vni: int(0xffffff), outer };
    case 'vxlan-gpe':
      return { kind, nextProtocol: GPE_NP[version], vni: int(0xffffff), outer };
    case 'gre':
      return { kind, protocol: GRE_PROTO, outer };
  }
}

interface Widths {
  ts: number;
  l2: number;
  qBits: number;
}
function genHop(w: Widths, dsWords: number): HopMetadata {
  const h: HopMetadata = {};
  const maybe = (f: () => void): void => {
    if (!chance(0.1)) f();
  };
  maybe(() => (h.switchId = u32()));
  maybe(() => {
    h.ingressPort = int(0xfffe);
    h.egressPort = int(0xffff);
  });
  maybe(() => (h.hopLatency = u32()));
  maybe(() => {
    h.queueId = int(2 ** w.qBits - 2);
    h.queueOccupancy = int(2 ** (32 - w.qBits) - 1);
  });
  const ts = (): bigint =>
    w.ts === 8
      ? chance(0.05)
        ? 0xffffffffffffffffn
        : (BigInt(int(0xffffffff)) << 32n) | BigInt(int(0xffffffff))
      : BigInt(u32());
  maybe(() => (h.ingressTimestamp = ts()));
  maybe(() => (h.egressTimestamp = ts()));
  maybe(() => {
    const m = w.l2 === 8 ? 0xfffffffe : 0xfffe;
    h.l2IngressPort = int(m);
    h.l2EgressPort = int(m);
  });
  maybe(() => (h.txUtilization = u32()));
  maybe(() => {
    h.bufferId = int(0xfe);
    h.bufferOccupancy = int(0xffffff);
  });
  maybe(() => (h.checksumComplement = u32()));
  maybe(() => (h.queueCongestion = u32()));
  if (dsWords > 0) h.dsMetadata = Array.from({ length: dsWords }, () => int(0xffffffff));
  return h;
}

const ONES = 0xffffffff;
function nullHop(index: number, origin: 'stack' | 'report'): Hop {
  return {
    index,
    switchId: null,
    ingressPort: null,
    egressPort: null,
    hopLatency: null,
    queueId: null,
    queueOccupancy: null,
    ingressTimestamp: null,
    egressTimestamp: null,
    l2IngressPort: null,
    l2EgressPort: null,
    txUtilization: null,
    bufferId: null,
    bufferOccupancy: null,
    checksumComplement: null,
    queueCongestion: null,
    dsMetadata: [],
    origin,
  };
}
const n32 = (v: number | undefined): number | null => (v === undefined || v === ONES ? null : v);
const nts = (v: bigint | undefined, size: number): bigint | null =>
  v === undefined || v === (size === 8 ? 0xffffffffffffffffn : 0xffffffffn) ? null : v;

/** What the decoder must return for a stack hop, per version (independent of the encoder). */
function expectStackHop(
  version: string,
  bitmap: number,
  h: HopMetadata,
  w: Widths,
  index: number,
): Hop {
  const e = nullHop(index, 'stack');
  const has = (bit: number): boolean => (bitmap & (0x8000 >> bit)) !== 0;
  if (has(0)) e.switchId = n32(h.switchId);
  if (has(1) && h.ingressPort !== undefined)
    [e.ingressPort, e.egressPort] = [h.ingressPort, h.egressPort!];
  if (has(2)) e.hopLatency = n32(h.hopLatency);
  if (has(3) && h.queueId !== undefined)
    [e.queueId, e.queueOccupancy] = [h.queueId, h.queueOccupancy!];
  if (has(4)) e.ingressTimestamp = nts(h.ingressTimestamp, w.ts);
  if (has(5)) e.egressTimestamp = nts(h.egressTimestamp, w.ts);
  if (has(6)) {
    if (version === '0.5') e.queueCongestion = n32(h.queueCongestion);
    else if (h.l2IngressPort !== undefined)
      [e.l2IngressPort, e.l2EgressPort] = [h.l2IngressPort, h.l2EgressPort!];
  }
  if (has(7)) e.txUtilization = n32(h.txUtilization);
  if (has(8) && version === '2' && h.bufferId !== undefined)
    [e.bufferId, e.bufferOccupancy] = [h.bufferId, h.bufferOccupancy!];
  if (has(15) && version !== '0.5') e.checksumComplement = n32(h.checksumComplement);
  e.dsMetadata = h.dsMetadata ?? [];
  return e;
}

function fmt(r: IntRecord | undefined): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

// ------------------------------------------------------------------ INT packets
interface Case {
  flow: FlowSpec;
  stack: IntStackSpec;
  carrier: CarrierSpec;
  kind: Kind;
  dev: Partial<Deviations>;
}

function genCase(version: IntVersion, kind: Kind, mode: 'MD' | 'MX'): Case {
  const vkey = version === '0.5' || version === '1.0' ? version : '2';
  const dev: Partial<Deviations> = {};
  if (chance(0.2)) dev.l2PortBytes = 4;
  if (chance(0.2)) dev.queueIdBits = 16;
  if (version === '1.0' && chance(0.3)) dev.v1TimestampBytes = 8;
  const w: Widths = {
    ts: vkey === '2' ? 8 : version === '1.0' ? (dev.v1TimestampBytes ?? 4) : 4,
    l2: dev.l2PortBytes ?? 8,
    qBits: dev.queueIdBits ?? 8,
  };
  let bitmap = int(0xffff) & DEFINED_BITS[vkey];
  const flowProto: 6 | 17 | undefined =
    kind.startsWith('udp-') && kind !== 'udp-port-npt2'
      ? 17
      : kind.startsWith('tcp-')
        ? 6
        : undefined;
  const flow = genFlow(flowProto);
  const stack: IntStackSpec = {
    version,
    mode,
    instructionBitmap: bitmap,
    hops: [],
    deviations: dev,
  };
  if (mode === 'MX') {
    if (chance(0.5)) stack.domainSpecificId = 1 + int(0xfffe);
    stack.dsInstruction = int(0xffff);
    stack.dsFlags = int(0xffff);
    stack.discard = chance(0.3);
    return { flow, stack, carrier: carrierFor(kind, version), kind, dev };
  }
  const v2 = vkey === '2';
  const dsWords = v2 && chance(0.3) ? 1 + int(2) : 0;
  let nHops = int(8);
  if (bitmap === 0 && dsWords === 0 && nHops > 0) bitmap = 0x8000; // a stack needs a non-empty hop block
  stack.instructionBitmap = bitmap;
  // Geneve option data is at most 31 words
  const perHopW = (() => {
    let b = 0;
    for (let bit = 0; bit < 16; bit++) {
      if (!(bitmap & (0x8000 >> bit))) continue;
      if (bit === 4 || bit === 5) b += w.ts;
      else if (bit === 6) b += version === '0.5' ? 4 : w.l2;
      else b += 4;
    }
    return b / 4 + dsWords;
  })();
  const hdrW = v2 ? 3 : 2;
  if (kind === 'geneve') nHops = Math.min(nHops, Math.floor((31 - hdrW) / perHopW));
  stack.hops = Array.from({ length: nHops }, () => genHop(w, dsWords));
  if (v2) {
    if (dsWords > 0 || chance(0.3)) {
      stack.domainSpecificId = 1 + int(0xfffe);
      stack.dsInstruction = int(0xffff);
    }
    stack.dsFlags = int(0xffff);
    stack.discard = chance(0.3);
    // Hop ML counts DS words only when some hop carries them
    const hopMlW = nHops > 0 ? perHopW : perHopW - dsWords;
    if (stack.domainSpecificId && chance(0.3) && hopMlW > 1 && kind !== 'geneve') {
      stack.sourceOnlyDs = Array.from({ length: 1 + int(hopMlW - 2) }, () => int(0xffffffff));
    }
  }
  if (version !== '0.5' && chance(0.5)) stack.remainingHopCount = int(255);
  if (version === '0.5' && chance(0.5)) stack.maxHopCount = int(255);
  if (chance(0.05)) stack.hopLimitExceeded = true;
  if (version !== '0.5' && chance(0.05)) stack.mtuExceeded = true;
  return { flow, stack, carrier: carrierFor(kind, version), kind, dev };
}

function checkIntCase(c: Case): void {
  const { flow, stack, carrier, kind, dev } = c;
  const pkt = buildIntPacket(flow, stack, carrier);
  verifyFrame(pkt);
  const plain = buildPlainPacket(flow);
  verifyFrame(plain);
  const tunnel = kind === 'geneve' || kind === 'vxlan-gpe' || kind === 'gre';
  if (tunnel) {
    // the original frame rides unchanged at the end
    expect(Buffer.from(pkt.subarray(pkt.length - plain.length)).equals(Buffer.from(plain))).toBe(
      true,
    );
  }
  if (kind === 'udp-port-npt2') {
    const ipHl = flow.ipVersion === 4 ? 20 : 40;
    const l4 = plain.subarray(14 + ipHl);
    expect(Buffer.from(pkt.subarray(pkt.length - l4.length)).equals(Buffer.from(l4))).toBe(true);
  }
  const res = decodeOne(pkt, 1, config(dev));
  const r = res.records[0];
  const ctx = `${stack.version} ${stack.mode} ${kind} (${stack.hops.length} hops, dscp ${flow.dscp}, proto ${flow.protocol}): ${fmt(r)} ${JSON.stringify(res.rejection)} ${Buffer.from(pkt).toString('hex')}`;
  if (res.records.length !== 1)
    throw new Error(`expected 1 record, got ${res.records.length}: ${ctx}`);
  const v = stack.version;
  const vkey = v === '0.5' || v === '1.0' ? v : '2';
  const v2 = vkey === '2';
  const w: Widths = {
    ts: v2 ? 8 : v === '1.0' ? (dev.v1TimestampBytes ?? 4) : 4,
    l2: dev.l2PortBytes ?? 8,
    qBits: dev.queueIdBits ?? 8,
  };
  const expectedFindings: string[] = [];
  if (stack.hopLimitExceeded) expectedFindings.push('hop-limit-exceeded');
  if (stack.mtuExceeded) expectedFindings.push('mtu-exceeded');
  const tcpUdp = !tunnel;
  const npt = kind === 'udp-port-npt2' ? 2 : kind === 'udp-port' || kind === 'tcp-port' ? 1 : 0;
  const expected = {
    encapsulation: kind === 'udp-port-npt2' ? 'udp-port' : kind,
    intVersion: kind === 'vxlan-gpe' ? v : v2 ? '2.1' : v,
    mode: stack.mode,
    instructionBitmap: stack.instructionBitmap,
    remainingHopCount:
      stack.mode === 'MX'
        ? null
        : v === '0.5'
          ? Math.max(0, (stack.maxHopCount ?? 8) - stack.hops.length)
          : (stack.remainingHopCount ?? Math.max(0, 8 - stack.hops.length)),
    flow: {
      srcAddr: flow.srcAddr,
      dstAddr: flow.dstAddr,
      srcPort: flow.srcPort,
      dstPort: flow.dstPort,
      protocol: flow.protocol,
    },
    hops: stack.hops.map((h, i) => expectStackHop(vkey, stack.instructionBitmap, h, w, i)),
  };
  try {
    expect(r.findings.map((f) => f.kind).sort()).toEqual(expectedFindings.sort());
    expect(r).toMatchObject(expected);
    const hdr = r.header!;
    expect(hdr.discard).toBe(!!stack.discard);
    expect(hdr.hopLimitExceeded).toBe(!!stack.hopLimitExceeded);
    expect(hdr.mtuExceeded).toBe(!!stack.mtuExceeded);
    expect(hdr.domainSpecificId).toBe(stack.domainSpecificId ?? 0);
    expect(hdr.dsInstruction).toBe(stack.dsInstruction ?? 0);
    expect(hdr.dsFlags).toBe(stack.dsFlags ?? 0);
    expect(hdr.sourceOnlyBytes).toBe((stack.sourceOnlyDs?.length ?? 0) * 4);
    expect(hdr.type).toBe(stack.mode === 'MX' ? 3 : 1);
    expect(hdr.npt).toBe(v2 && tcpUdp ? npt : null);
    const dscp = flow.dscp ?? 0;
    expect(hdr.originalDscp).toBe(
      !tcpUdp ? null : v === '0.5' ? dscp : npt === 0 ? (dscp === 0 ? null : dscp) : null,
    );
    expect(hdr.originalDstPort).toBe(
      (v2 && npt === 1) || (v === '0.5' && npt === 1) ? flow.dstPort : null,
    );
    expect(hdr.originalProtocol).toBe(npt === 2 || (v === '0.5' && tcpUdp) ? flow.protocol : null);
    expect(hdr.nextProtocol).toBe(
      kind === 'vxlan-gpe' ? 3 : kind === 'gre' ? 0x6558 : v === '0.5' ? flow.protocol : null,
    );
    if (v === '0.5') {
      expect(hdr.totalHopCount).toBe(stack.hops.length);
      expect(hdr.maxHopCount).toBe(stack.maxHopCount ?? 8);
    }
    if (stack.mode === 'MD' && stack.hops.length > 0) {
      expect(
        r.hopMl * 4 * stack.hops.length + (stack.sourceOnlyDs?.length ?? 0) * 4,
      ).toBeGreaterThan(0);
    }
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${ctx}`);
  }
}

describe('INT packets round trip (encoder → decoder)', () => {
  const versions: IntVersion[] = ['0.5', '1.0', '2.0', '2.1'];
  for (const version of versions) {
    const vkey = version === '0.5' || version === '1.0' ? version : '2';
    for (const kind of CARRIERS[vkey]) {
      for (const mode of vkey === '2' ? (['MD', 'MX'] as const) : (['MD'] as const)) {
        it(`v${version} ${mode} over ${kind}`, () => {
          rnd = mulberry32((version.charCodeAt(0) * 131 + kind.length * 17 + mode.length) ^ 0x5eed);
          const n = mode === 'MX' ? 60 : 150;
          for (let i = 0; i < n; i++) checkIntCase(genCase(version, kind, mode));
        });
      }
    }
  }

  it('hop ML is the per-hop words (v2.x 0xFF00 = 11 words, v1.0 = 9)', () => {
    const flow = genFlow(17);
    for (const [version, words] of [
      ['2.1', 11],
      ['1.0', 9],
    ] as const) {
      const pkt = buildIntPacket(
        flow,
        { version, mode: 'MD', instructionBitmap: 0xff00, hops: [{}, {}] },
        { kind: 'udp-dscp', dscpValue: DSCP_INT },
      );
      const r = decodeOne(pkt, 1, config()).records[0];
      expect(r.hopMl).toBe(words);
      expect(r.hops).toHaveLength(2);
      expect(r.hops.every((h) => h.switchId === null && h.hopLatency === null)).toBe(true);
    }
  });
});

// ------------------------------------------------------------------ reports
const TR20_BITS = 0xff81; // bit 0 reserved (no bytes), bits 1-8, bit 15 = queue id + drop reason
function genReportMetadata(ds: number): HopMetadata {
  const h = genHop({ ts: 8, l2: 8, qBits: 8 }, ds);
  if (chance(0.9)) h.dropReason = int(0xfe);
  return h;
}

function expectReportHop(
  version: '1.0' | '2.0',
  bits: number,
  h: HopMetadata,
  node: number,
  index: number,
  ingressTs?: number,
): Hop {
  const e = nullHop(index, 'report');
  e.switchId = node;
  if (version === '2.0') {
    const has = (bit: number): boolean => (bits & (0x8000 >> bit)) !== 0;
    if (has(1) && h.ingressPort !== undefined)
      [e.ingressPort, e.egressPort] = [h.ingressPort, h.egressPort!];
    if (has(2)) e.hopLatency = n32(h.hopLatency);
    if (has(3) && h.queueId !== undefined)
      [e.queueId, e.queueOccupancy] = [h.queueId, h.queueOccupancy!];
    if (has(4)) e.ingressTimestamp = nts(h.ingressTimestamp, 8);
    if (has(5)) e.egressTimestamp = nts(h.egressTimestamp, 8);
    if (has(6) && h.l2IngressPort !== undefined)
      [e.l2IngressPort, e.l2EgressPort] = [h.l2IngressPort, h.l2EgressPort!];
    if (has(7)) e.txUtilization = n32(h.txUtilization);
    if (has(8) && h.bufferId !== undefined)
      [e.bufferId, e.bufferOccupancy] = [h.bufferId, h.bufferOccupancy!];
    if (has(15) && (h.queueId !== undefined || h.dropReason !== undefined)) {
      e.queueId = h.queueId ?? 0xff;
      e.queueOccupancy = null;
    }
    e.dsMetadata = h.dsMetadata ?? [];
  } else {
    const has = (bit: number): boolean => (bits & (0x20 >> bit)) !== 0;
    if (has(0) && h.ingressPort !== undefined)
      [e.ingressPort, e.egressPort] = [h.ingressPort, h.egressPort!];
    if (has(1)) e.hopLatency = n32(h.hopLatency);
    if (has(2) && h.queueId !== undefined)
      [e.queueId, e.queueOccupancy] = [h.queueId, h.queueOccupancy!];
    if (has(3))
      e.egressTimestamp = nts(
        h.egressTimestamp === undefined ? undefined : h.egressTimestamp & 0xffffffffn,
        4,
      );
    if (has(4) && (h.queueId !== undefined || h.dropReason !== undefined)) {
      e.queueId = h.queueId ?? 0xff;
      e.queueOccupancy = null;
    }
    if (has(5)) e.txUtilization = n32(h.txUtilization);
    e.ingressTimestamp = BigInt(ingressTs ?? ONES);
  }
  return e;
}

function expectedDropReason(drop: boolean, h: HopMetadata): number | null {
  return drop && (h.queueId !== undefined || h.dropReason !== undefined)
    ? (h.dropReason ?? 0xff)
    : null;
}

/** An inner packet: plain, or (sometimes) carrying INT v2.1 by DSCP; returns its expected hops. */
function genInner(): { frame: Uint8Array; flow: FlowSpec; hops: Hop[] } {
  const flow = genFlow();
  // a payload starting 0x00 never looks like an INT shim to the decoder's reportInnerProbe
  if (flow.payload!.length > 0) flow.payload![0] = 0;
  if (flow.dscp === DSCP_INT) flow.dscp = 0; // a plain packet must not carry the INT DSCP
  if (chance(0.3)) {
    const hops = Array.from({ length: 1 + int(3) }, () => ({
      switchId: int(1000),
      hopLatency: int(100000),
    }));
    const stack: IntStackSpec = { version: '2.1', mode: 'MD', instructionBitmap: 0xa000, hops };
    const frame = buildIntPacket(flow, stack, {
      kind: flow.protocol === 17 ? 'udp-dscp' : 'tcp-dscp',
      dscpValue: DSCP_INT,
    });
    return {
      frame,
      flow,
      hops: hops.map((h, i) => expectStackHop('2', 0xa000, h, { ts: 8, l2: 8, qBits: 8 }, i)),
    };
  }
  return { frame: buildPlainPacket(flow), flow, hops: [] };
}

function flowOf(f: FlowSpec) {
  return {
    srcAddr: f.srcAddr,
    dstAddr: f.dstAddr,
    srcPort: f.srcPort,
    dstPort: f.dstPort,
    protocol: f.protocol,
  };
}

describe('Telemetry Reports round trip', () => {
  const decoder = new Decoder(config());

  it('TR v2.0 with several individual reports per datagram', () => {
    rnd = mulberry32(2020);
    for (let n = 0; n < 600; n++) {
      const rv = pick([4, 6] as const);
      const reports: IndividualReportSpec[] = [];
      const expected: { hops: Hop[]; flow: FlowSpec; rep: IndividualReportSpec }[] = [];
      const node = int(0xffffffff);
      const count = 1 + int(3);
      for (let i = 0; i < count; i++) {
        const inner = genInner();
        const inType = pick([3, 4, 5]);
        const innerBytes = inType === 3 ? inner.frame : inner.frame.subarray(14);
        const realInType = inType === 3 ? 3 : inner.flow.ipVersion === 4 ? 4 : 5;
        const repType = pick([0, 1] as const);
        const rep: IndividualReportSpec = {
          repType,
          inType: realInType,
          inner: innerBytes,
          dropped: chance(0.3),
          congestedQueue: chance(0.3),
          trackedFlow: chance(0.5),
          intermediate: chance(0.2),
        };
        let hops = inner.hops;
        if (repType === 1) {
          const ds = chance(0.3) ? 1 + int(2) : 0;
          rep.repMdBits = int(0xffff) & TR20_BITS;
          rep.metadata = genReportMetadata(ds);
          if (ds) {
            rep.dsId = 1 + int(0xfffe);
            rep.dsMdBits = int(0xffff);
          }
          rep.dsMdStatus = int(0xffff);
          if ((rep.repMdBits & 0x7fff) !== 0 || hops.length === 0) {
            hops = [
              ...hops,
              expectReportHop('2.0', rep.repMdBits, rep.metadata, node, hops.length),
            ];
          }
        }
        reports.push(rep);
        expected.push({ hops, flow: inner.flow, rep });
      }
      const spec: ReportSpec = {
        version: '2.0',
        srcAddr: addr(rv),
        dstAddr: addr(rv),
        srcPort: int(0xffff),
        dstPort: REPORT_PORT,
        hwId: int(63),
        sequence: int(0x3fffff),
        nodeId: node,
        reports,
      };
      const pkt = buildReport(spec);
      verifyFrame(pkt);
      const res = decodeOne(pkt, 1, decoder);
      expect(res.records).toHaveLength(count);
      res.records.forEach((r, i) => {
        const { hops, flow, rep } = expected[i];
        const drop = rep.repType === 1 && ((rep.repMdBits ?? 0) & 0x0001) !== 0;
        try {
          expect(r.findings).toEqual([]);
          expect(r.flow).toEqual(flowOf(flow));
          expect(r.hops).toEqual(hops.map((h, k) => ({ ...h, index: k })));
          expect(r.report).toEqual({
            version: '2.0',
            hwId: spec.hwId,
            sequence: spec.sequence,
            nodeId: node,
            reporterAddr: spec.srcAddr,
            dropped: !!rep.dropped,
            congestedQueue: !!rep.congestedQueue,
            trackedFlow: !!rep.trackedFlow,
            intermediate: !!rep.intermediate,
            reportType: rep.repType,
            innerType: rep.inType,
            dropReason: expectedDropReason(drop, rep.metadata ?? {}),
            indexInDatagram: i,
          });
          if (rep.repType === 1) {
            // the inner INT stack's bitmap wins when the inner packet carries INT
            if (!hops.some((h) => h.origin === 'stack'))
              expect(r.instructionBitmap).toBe(rep.repMdBits);
            expect(r.header?.domainSpecificId ?? 0).toBe(
              r.header ? (hops.some((h) => h.origin === 'stack') ? 0 : 0) : 0,
            );
          }
        } catch (e) {
          throw new Error(`${(e as Error).message}\nreport ${i}: ${fmt(r)}`);
        }
      });
    }
  });

  it('TR v1.0 with RepMdBits metadata', () => {
    rnd = mulberry32(1010);
    for (let n = 0; n < 600; n++) {
      const rv = pick([4, 6] as const);
      const inner = genInner();
      const inType = pick([3, 4, 5]);
      const realInType = inType === 3 ? 3 : inner.flow.ipVersion === 4 ? 4 : 5;
      const bits = int(0x3f);
      const md = genReportMetadata(0);
      if (md.egressTimestamp !== undefined) md.egressTimestamp &= 0xffffffffn;
      const node = int(0xffffffff);
      const ingressTs = int(0xffffffff);
      const rep: IndividualReportSpec = {
        repType: 0,
        inType: realInType,
        repMdBits: bits,
        metadata: md,
        dropped: chance(0.3),
        congestedQueue: chance(0.3),
        trackedFlow: chance(0.5),
        inner: inType === 3 ? inner.frame : inner.frame.subarray(14),
      };
      const spec: ReportSpec = {
        version: '1.0',
        srcAddr: addr(rv),
        dstAddr: addr(rv),
        dstPort: REPORT_PORT,
        hwId: int(63),
        sequence: int(0xffffffff),
        nodeId: node,
        ingressTimestamp: ingressTs,
        reports: [rep],
      };
      const pkt = buildReport(spec);
      verifyFrame(pkt);
      const res = decodeOne(pkt, 1, decoder);
      if (res.records.length !== 1)
        throw new Error(
          `rejected: ${JSON.stringify(res.rejection)} ${Buffer.from(pkt).toString('hex')}`,
        );
      const r = res.records[0];
      let hops = inner.hops;
      if (bits !== 0 || hops.length === 0)
        hops = [...hops, expectReportHop('1.0', bits, md, node, hops.length, ingressTs)];
      try {
        expect(r.findings).toEqual([]);
        expect(r.flow).toEqual(flowOf(inner.flow));
        expect(r.hops).toEqual(hops);
        expect(r.report).toMatchObject({
          version: '1.0',
          hwId: spec.hwId,
          sequence: spec.sequence,
          nodeId: node,
          reporterAddr: spec.srcAddr,
          dropped: !!rep.dropped,
          congestedQueue: !!rep.congestedQueue,
          trackedFlow: !!rep.trackedFlow,
          innerType: realInType - 3,
          dropReason: expectedDropReason((bits & 0x02) !== 0, md),
        });
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${fmt(r)}`);
      }
    }
  });

  it('TR v0.5 Ethernet-only, drop and switch-local reports', () => {
    rnd = mulberry32(505);
    for (let n = 0; n < 600; n++) {
      const rv = pick([4, 6] as const);
      const inner = genInner();
      const np = pick([0, 1, 2] as const);
      const node = int(0xffffffff);
      const ingressTs = int(0xffffffff);
      const md: HopMetadata = {
        ingressPort: int(0xffff),
        egressPort: int(0xffff),
        queueId: int(0xff),
        queueOccupancy: int(0xffffff),
        dropReason: int(0xff),
        egressTimestamp: BigInt(int(0xffffffff)),
      };
      const rep: IndividualReportSpec = {
        repType: 0,
        inType: 3,
        metadata: np === 0 ? undefined : md,
        dropped: chance(0.3),
        congestedQueue: chance(0.3),
        trackedFlow: chance(0.5),
        inner: inner.frame,
      };
      const spec: ReportSpec = {
        version: '0.5',
        srcAddr: addr(rv),
        dstAddr: addr(rv),
        dstPort: REPORT_PORT,
        hwId: int(63),
        sequence: int(0xffffffff),
        nodeId: node,
        v05NextProto: np,
        ingressTimestamp: ingressTs,
        reports: [rep],
      };
      const pkt = buildReport(spec);
      verifyFrame(pkt);
      const res = decodeOne(pkt, 1, decoder);
      if (res.records.length !== 1)
        throw new Error(
          `rejected: ${JSON.stringify(res.rejection)} ${Buffer.from(pkt).toString('hex')}`,
        );
      const r = res.records[0];
      const hops = [...inner.hops];
      if (np !== 0) {
        const e = nullHop(hops.length, 'report');
        e.switchId = node;
        e.ingressPort = md.ingressPort!;
        e.egressPort = md.egressPort!;
        e.queueId = md.queueId!;
        if (np === 2) {
          e.queueOccupancy = md.queueOccupancy!;
          e.ingressTimestamp = BigInt(ingressTs);
          e.egressTimestamp = md.egressTimestamp!;
          e.hopLatency = (Number(md.egressTimestamp!) - ingressTs) >>> 0;
        }
        hops.push(e);
      }
      try {
        expect(r.findings).toEqual([]);
        expect(r.flow).toEqual(flowOf(inner.flow));
        expect(r.hops).toEqual(hops);
        expect(r.report).toMatchObject({
          version: '0.5',
          hwId: spec.hwId,
          sequence: spec.sequence,
          nodeId: np === 0 ? null : node,
          dropped: !!rep.dropped || np === 1,
          congestedQueue: !!rep.congestedQueue,
          trackedFlow: !!rep.trackedFlow,
          reportType: np,
          dropReason: np === 1 ? md.dropReason : null,
        });
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${fmt(r)}`);
      }
    }
  });
});

// ------------------------------------------------------------------ impossible specs throw
describe('builders reject impossible specs', () => {
  const flow: FlowSpec = {
    ipVersion: 4,
    srcAddr: '10.0.0.1',
    dstAddr: '10.0.0.2',
    protocol: 17,
    srcPort: 1,
    dstPort: 2,
  };
  const base: IntStackSpec = {
    version: '2.1',
    mode: 'MD',
    instructionBitmap: 0x8000,
    hops: [{ switchId: 1 }],
  };
  const dscp: CarrierSpec = { kind: 'udp-dscp', dscpValue: DSCP_INT };
  it.each([
    ['hop ML > 31', { ...base, hopMl: 32 }, dscp, /Hop ML/],
    [
      'DS words push hop ML past 31',
      { ...base, instructionBitmap: 0xff81, hops: [{ dsMetadata: new Array(20).fill(0) }] },
      dscp,
      /Hop ML/,
    ],
    [
      'more than 255 words',
      { ...base, instructionBitmap: 0xff81, hops: new Array(30).fill({}) },
      dscp,
      /255/,
    ],
    [
      'Geneve option > 31 words',
      { ...base, hops: new Array(30).fill({}) },
      {
        kind: 'geneve',
        outer: { ipVersion: 4, srcAddr: '1.1.1.1', dstAddr: '2.2.2.2' },
      } as CarrierSpec,
      /31/,
    ],
    ['MX with hops', { ...base, mode: 'MX' }, dscp, /MX/],
    ['MX in v1.0', { ...base, version: '1.0', mode: 'MX', hops: [] }, dscp, /MX/],
    [
      'v1.0 over a port',
      { ...base, version: '1.0' },
      { kind: 'udp-port', port: 5000 } as CarrierSpec,
      /v1.0/,
    ],
    ['port out of range', base, { kind: 'udp-port', port: 70000 } as CarrierSpec, /port/],
    ['field too wide', { ...base, hops: [{ switchId: 2 ** 32 }] }, dscp, /switchId/],
    [
      'queue id too wide',
      { ...base, instructionBitmap: 0x1000, hops: [{ queueId: 256, queueOccupancy: 1 }] },
      dscp,
      /queueId/,
    ],
    [
      'udp carrier for a TCP flow',
      base,
      { kind: 'tcp-dscp', dscpValue: DSCP_INT } as CarrierSpec,
      /TCP/,
    ],
    ['bad probe marker', base, { kind: 'udp-probe', marker: 'xyz' } as CarrierSpec, /marker/],
  ])('%s', (_name, stack, carrier, msg) => {
    expect(() => buildIntPacket(flow, stack as IntStackSpec, carrier)).toThrow(msg);
  });
  it('flow ports and addresses are checked', () => {
    expect(() => buildPlainPacket({ ...flow, srcPort: -1 })).toThrow(/srcPort/);
    expect(() => buildPlainPacket({ ...flow, dstAddr: '10.0.0.256' })).toThrow(/IPv4/);
    expect(() => buildPlainPacket({ ...flow, ipVersion: 6 })).toThrow(/IPv6/);
  });
  it('reports are checked', () => {
    const r: ReportSpec = {
      version: '2.0',
      srcAddr: '1.1.1.1',
      dstAddr: '2.2.2.2',
      dstPort: 32766,
      sequence: 1 << 22,
      nodeId: 1,
      reports: [{ repType: 0, inType: 0 }],
    };
    expect(() => buildReport(r)).toThrow(/22 bits/);
    expect(() => buildReport({ ...r, sequence: 1, hwId: 64 })).toThrow(/hwId/);
    expect(() => buildReport({ ...r, sequence: 1, reports: [] })).toThrow(/at least one/);
    expect(() =>
      buildReport({ ...r, version: '1.0', sequence: 1, reports: [{ repType: 0, inType: 0 }] }),
    ).toThrow(/inType/);
    expect(() =>
      buildReport({
        ...r,
        sequence: 1,
        reports: [{ repType: 0, inType: 3, inner: new Uint8Array(1100) }],
      }),
    ).toThrow(/254/);
  });
});
