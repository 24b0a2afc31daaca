/**
 * The simulation: flows (elephants, Poisson mice, scenario-driven aggressors/victims), routing
 * (ECMP, failures, micro-loops), a per-packet FIFO queue model per egress port (Lindley
 * recursion on each port's busy-until time), switch clocks with offset and drift, and the
 * ground-truth bookkeeping for labels. Packets leave in capture-time order through a reorder
 * heap, so the capture is monotonic.
 *
 * Length: the event loop, the queue model and the label bookkeeping read and write the same
 * per-port and per-flow arrays in one pass per packet; split, they would pass that state around.
 */
import { hash5, Rng } from './rng';
import { MinHeap } from './heap';
import {
  PacketFactory,
  VSTRIDE,
  V_BUF,
  V_EGT,
  V_ETS,
  V_ITS,
  V_LAT,
  V_OCC,
  V_QID,
  V_UTIL,
  type PacketFlow,
} from './packets';
import type {
  Scenario,
  MicroburstEvent,
  MicroloopEvent,
  PathChangeEvent,
  DropEvent,
  ReportLossEvent,
  HairpinEvent,
  BusyEvent,
} from './scenario';
import { ipv4ToString, Topology, type Path } from './topology';
import type { Anomaly, FlowLabel, HairpinLabel, Labels } from './labels';

export interface SimFlow extends PacketFlow {
  id: number;
  kind:
    | 'elephant'
    | 'mouse'
    | 'aggressor'
    | 'victim'
    | 'loop'
    | 'hairpin'
    | 'busy'
    | 'stream'
    | 'scripted';
  srcLeaf: number;
  srcHost: number;
  dstLeaf: number;
  dstHost: number;
  /** Bytes on the wire per packet (queue model). */
  wireBytes: number;
  intervalNs: number;
  remaining: number;
  nextIpId: number;
  nextSeq: number;
  basePath: Path | null;
  path: Path | null;
  routeEpoch: number;
  label: FlowLabel;
  pendingChange?: PendingChange;
  /** Hairpin track index + 1 when the flow detours through an appliance (0: none). */
  hairpin: number;
}

/** Where generated records go. `timeNs` is simulation ns (add the epoch for capture time). */
export interface RecordSink {
  write(bytes: Uint8Array, timeNs: number): void;
}

const CODE_DATA = 62;
const CODE_DROP = 63;

interface BurstTrack {
  ev: MicroburstEvent;
  q: number;
  from: number;
  to: number;
  start: number;
  end: number;
  peak: number;
  aggressors: Set<SimFlow>;
  victims: Set<SimFlow>;
  drops: number;
}

interface HairpinTrack {
  ev: HairpinEvent;
  from: number;
  flows: Set<SimFlow>;
  packets: number;
}

interface LoopTrack {
  ev: MicroloopEvent;
  active: boolean;
  via: number;
  start: number;
  end: number;
  flows: Set<SimFlow>;
  packets: number;
  switches: number[];
}

interface DropTrack {
  ev: DropEvent;
  sw: number;
  active: boolean;
  start: number;
  end: number;
  flows: Set<SimFlow>;
  packets: number;
}

interface PendingChange {
  start: number;
  flow: FlowLabel;
  oldPath: number[];
  newPath: number[];
}

interface LossTrack {
  ev: ReportLossEvent;
  active: boolean;
}

interface LossEpisode {
  nodeId: number;
  hwId: number;
  start: number;
  end: number;
  lost: number;
}

/** Lost reports of one (node, hw_id) closer than this are one loss episode (the collector
 * cannot tell apart gaps this close; the analytics default `lossGapNs`). */
export const LOSS_EPISODE_GAP_NS = 100e6;

export interface SimStats {
  flows: number;
  generated: number;
  delivered: number;
  packetsWritten: number;
  reportsWritten: number;
  reportsLost: number;
  silentDrops: number;
  tailDrops: number;
  templates: number;
  lastTimeNs: number;
}

export class Simulation {
  readonly topo: Topology;
  readonly factory: PacketFactory;
  readonly stats: SimStats = {
    flows: 0,
    generated: 0,
    delivered: 0,
    packetsWritten: 0,
    reportsWritten: 0,
    reportsLost: 0,
    silentDrops: 0,
    tailDrops: 0,
    templates: 0,
    lastTimeNs: 0,
  };
  readonly flows: SimFlow[] = [];
  private readonly rng: Rng;
  private readonly jrng: Rng;
  private readonly durationNs: number;
  private readonly flowHeap = new MinHeap();
  private readonly outHeap = new MinHeap();
  // queue state
  private readonly qBacklog: Float64Array;
  private readonly qLast: Float64Array;
  private readonly uVal: Float64Array;
  private readonly uLast: Float64Array;
  private readonly qTrack: Int32Array;
  // clocks
  private readonly clkOff: Float64Array;
  private readonly clkRate: Float64Array;
  // routing
  private readonly hashSeed: Uint32Array;
  private readonly linkUp: Uint8Array;
  private routeEpoch = 0;
  private readonly changes: { t: number; apply: () => void }[] = [];
  private changeIdx = 0;
  private nextMouse = Infinity;
  private nextStream = Infinity;
  // slots: per in-flight packet, the visit values and metadata
  private readonly maxv: number;
  private slotHv: Float64Array;
  private slotMeta = new Float64Array(256 * 6);
  private free: number[] = [];
  private slotCount = 0;
  // report sequence numbers per (node, hw_id)
  private readonly seq = new Map<number, number>();
  // labels
  private readonly bursts: BurstTrack[] = [];
  private readonly loops: LoopTrack[] = [];
  private readonly drops: DropTrack[] = [];
  private readonly hairpins: HairpinTrack[] = [];
  /** Time through the appliance per leaf (hairpin scenarios). */
  private readonly applianceNs: Float64Array;
  /** Train lengths and gaps of busy-queue flows (its own stream: other scenarios unchanged). */
  private brng: Rng | null = null;
  private readonly losses: LossTrack[] = [];
  /** Lost report times per (node, hw_id) not yet revealed by a later report of that key. */
  private readonly lossPending = new Map<number, number[]>();
  private readonly lossEpisodes: LossEpisode[] = [];
  private readonly lossLast = new Map<number, LossEpisode>();
  private readonly pathChanges: PendingChange[] = [];
  private activeDrops: DropTrack[] = [];
  private activeLosses: LossTrack[] = [];
  private activeLoops: LoopTrack[] = [];
  private readonly loopOfPath = new Map<number, LoopTrack>();
  private pathChangePending = false;
  private readonly reportsMode: boolean;
  private readonly mx: boolean;
  private readonly wantBuffer: boolean;
  private readonly tcpInt: boolean;
  private readonly procNs: number;
  private readonly hostNsPerByte: number;
  private readonly jitterNs: number;
  private readonly propNs: number;
  private readonly bufferBytes: number;
  private readonly invTau: number;
  private done = false;
  private sink: RecordSink | null = null;
  private written = 0;
  private limit = Infinity;
  /**
   * Packet output only: called right after each INT packet is written, with the same packet
   * without INT (`PacketFactory.originalPacket`: what a stripping sink forwards) and the INT
   * packet. Off (null) by default; building the original is slow, so it costs nothing unless set.
   */
  onOriginal: ((original: Uint8Array, intPacket: Uint8Array, timeNs: number) => void) | null = null;

  constructor(readonly scenario: Scenario) {
    const s = scenario;
    this.topo = new Topology(s);
    this.factory = new PacketFactory(s, this.topo);
    if (this.factory.hopLimit < 3 && s.int.mode === 'MD') {
      throw new Error(
        `simulator: only ${this.factory.hopLimit} hop(s) of metadata fit (Geneve option limit); use a smaller instructionBitmap`,
      );
    }
    // visits per packet: leaf-spine-leaf, or around a micro-loop
    this.maxv = s.events.some((e) => e.type === 'microloop')
      ? 2 * (Math.ceil(this.factory.hopLimit / 2) + 1) + 3
      : 3;
    this.applianceNs = new Float64Array(this.topo.leaves);
    for (const e of s.events)
      if (e.type === 'hairpin') {
        // registered before any flow exists: flows towards the host from atMs on detour
        this.hairpins.push({ ev: e, from: e.atMs * 1e6, flows: new Set(), packets: 0 });
        this.applianceNs[e.leaf] = e.applianceNs;
        this.maxv += 1;
      }
    this.slotHv = new Float64Array(256 * this.maxv * VSTRIDE);
    this.rng = new Rng(s.seed);
    this.jrng = this.rng.fork();
    this.durationNs = s.durationMs * 1e6;
    const nq = this.topo.nQueues;
    this.qBacklog = new Float64Array(nq);
    this.qLast = new Float64Array(nq);
    this.uVal = new Float64Array(nq);
    this.uLast = new Float64Array(nq);
    this.qTrack = new Int32Array(nq);
    const ns = this.topo.nSwitches;
    this.clkOff = new Float64Array(ns);
    this.clkRate = new Float64Array(ns);
    const crng = this.rng.fork();
    for (let i = 0; i < ns; i++) {
      this.clkOff[i] = 1e9 + Math.floor(crng.next() * s.topology.clockMaxOffsetNs);
      this.clkRate[i] = 1 + (crng.next() * 2 - 1) * s.topology.clockMaxDriftPpm * 1e-6;
    }
    this.hashSeed = new Uint32Array(this.topo.leaves);
    for (let i = 0; i < this.topo.leaves; i++) this.hashSeed[i] = 0x5eed0000 + i;
    this.linkUp = new Uint8Array(this.topo.leaves * this.topo.spines).fill(1);
    this.reportsMode = s.output.kind === 'reports';
    this.mx = s.int.mode === 'MX';
    this.wantBuffer =
      (s.int.version === '2.0' || s.int.version === '2.1') &&
      (s.int.instructionBitmap & 0x0080) !== 0;
    this.tcpInt = s.int.encapsulation === 'tcp-dscp' && s.output.kind === 'packets';
    this.procNs = s.topology.processingNs;
    this.hostNsPerByte = 8 / s.topology.hostLinkGbps;
    this.jitterNs = s.topology.processingJitterNs;
    this.propNs = s.topology.propagationNs;
    this.bufferBytes = s.topology.bufferBytes;
    this.invTau = 1 / s.topology.utilTauNs;
    this.setupTraffic();
    this.setupEvents();
    this.changes.sort((a, b) => a.t - b.t);
  }

  // ------------------------------------------------------------------ traffic

  private protocolFor(): 6 | 17 {
    const enc = this.scenario.int.encapsulation;
    if (enc === 'udp-dscp' || enc === 'udp-port') return 17;
    if (enc === 'tcp-dscp') return 6;
    const p = this.scenario.traffic.protocol;
    if (p === 'tcp') return 6;
    if (p === 'udp') return 17;
    return this.rng.next() < 0.7 ? 6 : 17;
  }

  private aggressorProtocol(): 6 | 17 {
    const enc = this.scenario.int.encapsulation;
    if (enc === 'tcp-dscp' || (this.isTunnelEnc() && this.scenario.traffic.protocol === 'tcp'))
      return 6;
    return 17;
  }

  private isTunnelEnc(): boolean {
    const enc = this.scenario.int.encapsulation;
    return enc === 'geneve' || enc === 'vxlan-gpe' || enc === 'gre';
  }

  private randomHostPair(
    dstLeaf = -1,
    dstHost = -1,
    avoidLeaf = -1,
  ): [number, number, number, number] {
    const t = this.topo;
    const dl = dstLeaf >= 0 ? dstLeaf : this.rng.int(0, t.leaves - 1);
    const dh = dstHost >= 0 ? dstHost : this.rng.int(0, t.hosts - 1);
    let sl = this.rng.int(0, t.leaves - 1);
    let sh = this.rng.int(0, t.hosts - 1);
    for (let i = 0; i < 64 && (t.leaves > 1 ? sl === dl || sl === avoidLeaf : sh === dh); i++) {
      sl = this.rng.int(0, t.leaves - 1);
      sh = this.rng.int(0, t.hosts - 1);
    }
    return [sl, sh, dl, dh];
  }

  /** Creates a flow starting at `start` with `packets` packets (Infinity: until the end). */
  private addFlow(
    kind: SimFlow['kind'],
    hosts: [number, number, number, number],
    rateGbps: number,
    payloadBytes: number,
    start: number,
    packets: number,
    protocol: 6 | 17 = this.protocolFor(),
    srcPort = this.rng.int(32768, 60999),
  ): SimFlow {
    const [sl, sh, dl, dh] = hosts;
    const tr = this.scenario.traffic;
    const dstPort = protocol === 6 ? this.rng.pick(tr.tcpPorts) : this.rng.pick(tr.udpPorts);
    const frame = 14 + 20 + (protocol === 6 ? 20 : 8) + payloadBytes;
    const intBytes = this.mx ? 16 : 16 + 3 * this.factory.perHop;
    const wireBytes = frame + intBytes + 24; // + preamble, SFD, FCS, inter-frame gap
    const f: SimFlow = {
      id: this.flows.length,
      kind,
      srcLeaf: sl,
      srcHost: sh,
      dstLeaf: dl,
      dstHost: dh,
      srcAddr: this.topo.hostAddr(sl, sh),
      dstAddr: this.topo.hostAddr(dl, dh),
      srcPort,
      dstPort,
      protocol,
      payloadBytes,
      dstMac: Uint8Array.from(
        this.topo
          .hostMac(dl, dh)
          .split(':')
          .map((x) => parseInt(x, 16)),
      ),
      ipId: 0,
      tcpSeq: 0,
      wireBytes,
      intervalNs: (wireBytes * 8) / rateGbps,
      remaining: packets,
      nextIpId: this.rng.int(0, 0xffff),
      nextSeq: this.rng.u32(),
      basePath: null,
      path: null,
      routeEpoch: -1,
      label: { srcAddr: '', dstAddr: '', srcPort, dstPort, protocol },
      hairpin: 0,
    };
    for (let k = 0; k < this.hairpins.length; k++) {
      const h = this.hairpins[k];
      if (h.ev.leaf === dl && h.ev.host === dh && start >= h.from) f.hairpin = k + 1;
    }
    f.label.srcAddr = ipv4ToString(f.srcAddr);
    f.label.dstAddr = ipv4ToString(f.dstAddr);
    this.flows.push(f);
    this.stats.flows++;
    this.flowHeap.push(start, f.id);
    return f;
  }

  private setupTraffic(): void {
    const tr = this.scenario.traffic;
    const warm = Math.min(1e6, this.durationNs * 0.1);
    for (let i = 0; i < tr.elephants.count; i++) {
      this.addFlow(
        'elephant',
        this.randomHostPair(),
        tr.elephants.rateGbps,
        tr.elephants.payloadBytes,
        this.rng.next() * warm,
        Infinity,
      );
    }
    if (tr.mice.arrivalsPerMs > 0) this.nextMouse = this.rng.exp(1e6 / tr.mice.arrivalsPerMs);
    // streams and scripted flows draw from their own generator (forked only when used), so
    // scenarios without them generate the same bytes as before they existed
    if (tr.streams.arrivalsPerMs > 0 || tr.flows.length > 0) {
      this.srng = this.rng.fork();
      if (tr.streams.arrivalsPerMs > 0)
        this.nextStream = this.srng.exp(1e6 / tr.streams.arrivalsPerMs);
    }
    for (const sf of tr.flows) {
      const proto = this.protocolFor();
      const dport = proto === 6 ? tr.tcpPorts[0] : tr.udpPorts[0];
      const sp =
        sf.spine >= 0
          ? this.portThrough(sf.srcLeaf, sf.dstLeaf, sf.srcHost, sf.dstHost, dport, proto, sf.spine)
          : (this.srng as Rng).int(32768, 60999);
      const hosts: [number, number, number, number] = [
        sf.srcLeaf,
        sf.srcHost,
        sf.dstLeaf,
        sf.dstHost,
      ];
      const f = this.addFlow(
        'scripted',
        hosts,
        sf.rateGbps,
        sf.payloadBytes,
        sf.startMs * 1e6,
        sf.packets,
        proto,
        sp,
      );
      f.dstPort = dport;
      f.label.dstPort = dport;
    }
  }

  private srng: Rng | null = null;

  private addStream(t: number): void {
    const m = this.scenario.traffic.streams;
    const r = this.srng as Rng;
    const t0 = this.topo;
    const dl = r.int(0, t0.leaves - 1);
    const dh = r.int(0, t0.hosts - 1);
    let sl = r.int(0, t0.leaves - 1);
    let sh = r.int(0, t0.hosts - 1);
    for (let i = 0; i < 64 && (t0.leaves > 1 ? sl === dl : sh === dh); i++) {
      sl = r.int(0, t0.leaves - 1);
      sh = r.int(0, t0.hosts - 1);
    }
    this.addFlow(
      'stream',
      [sl, sh, dl, dh],
      m.rateGbps,
      r.pick(m.payloadBytes),
      t,
      r.int(m.minPackets, m.maxPackets),
      this.protocolFor(),
      r.int(32768, 60999),
    );
    this.nextStream = t + r.exp(1e6 / m.arrivalsPerMs);
  }

  private addMouse(t: number): void {
    const m = this.scenario.traffic.mice;
    this.addFlow(
      'mouse',
      this.randomHostPair(),
      m.rateGbps,
      this.rng.pick(m.payloadBytes),
      t,
      this.rng.int(m.minPackets, m.maxPackets),
    );
    this.nextMouse = t + this.rng.exp(1e6 / m.arrivalsPerMs);
  }

  /** A source port whose ECMP hash at srcLeaf picks `spine` (so event flows cross it). */
  private portThrough(
    sl: number,
    dl: number,
    sh: number,
    dh: number,
    dstPort: number,
    proto: number,
    spine: number,
  ): number {
    const t = this.topo;
    for (let i = 0; i < 1000; i++) {
      const sp = this.rng.int(32768, 60999);
      const h = hash5(
        t.hostAddr(sl, sh),
        t.hostAddr(dl, dh),
        sp,
        dstPort,
        proto,
        this.hashSeed[sl],
      );
      if (h % t.spines === spine) return sp;
    }
    return this.rng.int(32768, 60999);
  }

  // ------------------------------------------------------------------ events

  private at(t: number, apply: () => void): void {
    this.changes.push({ t, apply });
  }

  private setupEvents(): void {
    const t = this.topo;
    for (const ev of this.scenario.events) {
      const start = ev.atMs * 1e6;
      if (ev.type === 'microburst') {
        const q = t.qBase[ev.leaf] + ev.host; // leaf port host+1
        const dur = ev.durationUs * 1e3;
        const bt: BurstTrack = {
          ev,
          q,
          from: start,
          to: start + dur + 5e6,
          start: Infinity,
          end: -Infinity,
          peak: 0,
          aggressors: new Set(),
          victims: new Set(),
          drops: 0,
        };
        // 'none': the same flows as load (a decoy), neither labelled nor tracked
        if (ev.labelBy !== 'none') {
          this.bursts.push(bt);
          this.qTrack[q] = this.bursts.length;
        }
        for (let i = 0; i < ev.senders; i++) {
          const hosts = this.randomHostPair(ev.leaf, ev.host);
          const f = this.addFlow(
            'aggressor',
            hosts,
            ev.rateGbps,
            ev.payloadBytes,
            start + this.jrng.next() * 2000,
            0,
            this.aggressorProtocol(),
          );
          f.remaining = Math.max(1, Math.ceil(dur / f.intervalNs));
          bt.aggressors.add(f);
        }
        for (let i = 0; i < ev.victims; i++) {
          const hosts = this.randomHostPair(ev.leaf, ev.host);
          const vStart = Math.max(0, start - 100e3);
          const f = this.addFlow('victim', hosts, ev.victimRateGbps, 512, vStart, 0);
          f.remaining = Math.max(1, Math.ceil((dur + 300e3 + (start - vStart)) / f.intervalNs));
        }
      } else if (ev.type === 'microloop') {
        let via = ev.viaLeaf;
        if (via < 0) via = (ev.dstLeaf + 1) % t.leaves;
        const lt: LoopTrack = {
          ev,
          active: false,
          via,
          start: Infinity,
          end: -Infinity,
          flows: new Set(),
          packets: 0,
          switches: [t.switchId(t.leaves + ev.spine), t.switchId(via)],
        };
        this.loops.push(lt);
        const dur = ev.durationUs * 1e3;
        for (let i = 0; i < ev.flows; i++) {
          const hosts = this.randomHostPair(ev.dstLeaf, -1, via);
          const proto = this.protocolFor();
          const tr = this.scenario.traffic;
          const dport = proto === 6 ? tr.tcpPorts[0] : tr.udpPorts[0];
          const sp = this.portThrough(
            hosts[0],
            hosts[2],
            hosts[1],
            hosts[3],
            dport,
            proto,
            ev.spine,
          );
          const fStart = Math.max(0, start - 200e3);
          const f = this.addFlow('loop', hosts, ev.rateGbps, 512, fStart, 0, proto, sp);
          f.dstPort = dport;
          f.label.dstPort = dport;
          f.remaining = Math.max(1, Math.ceil((dur + 400e3 + (start - fStart)) / f.intervalNs));
        }
        this.at(start, () => {
          lt.active = true;
          this.activeLoops = this.loops.filter((l) => l.active);
          this.routeEpoch++;
        });
        this.at(start + dur, () => {
          lt.active = false;
          this.activeLoops = this.loops.filter((l) => l.active);
          this.routeEpoch++;
        });
      } else if (ev.type === 'hairpin') {
        for (let i = 0; i < ev.flows; i++)
          this.addFlow(
            'hairpin',
            this.randomHostPair(ev.leaf, ev.host),
            ev.rateGbps,
            256,
            start + this.jrng.next() * 20e3,
            Infinity,
          );
      } else if (ev.type === 'busy') {
        this.busyFlows(ev, start);
      } else if (ev.type === 'path_change') {
        this.applyPathChange(ev, start);
      } else if (ev.type === 'drop') {
        const sw = t.switchIndex(ev.switchId);
        if (sw < 0)
          throw new Error(`simulator: drop event switchId ${ev.switchId} is not in the topology`);
        const dt: DropTrack = {
          ev,
          sw,
          active: false,
          start: Infinity,
          end: -Infinity,
          flows: new Set(),
          packets: 0,
        };
        this.drops.push(dt);
        this.at(start, () => {
          dt.active = true;
          this.activeDrops = this.drops.filter((d) => d.active);
        });
        this.at(start + ev.durationUs * 1e3, () => {
          dt.active = false;
          this.activeDrops = this.drops.filter((d) => d.active);
        });
      } else {
        const lt: LossTrack = { ev, active: false };
        this.losses.push(lt);
        this.at(start, () => {
          lt.active = true;
          this.activeLosses = this.losses.filter((l) => l.active);
        });
        this.at(start + ev.durationUs * 1e3, () => {
          lt.active = false;
          this.activeLosses = this.losses.filter((l) => l.active);
        });
      }
    }
  }

  /**
   * Heavy-tailed load on a host port: flows (trains of back-to-back packets at the host link
   * rate) arrive as a Poisson process, their sizes Pareto(alpha) packets capped at maxTrain, at
   * the rate that offers `load` of the link on average. Each train is a flow of its own, so
   * flows start and end all the time, as heavy-tailed data-centre traffic does.
   */
  private busyFlows(ev: BusyEvent, start: number): void {
    const rng = (this.brng ??= new Rng((this.scenario.seed ^ 0x6b757379) >>> 0));
    const hostGbps = this.scenario.topology.hostLinkGbps;
    const a = ev.alpha;
    // mean of ceil(min(Pareto(alpha, 1), maxTrain)), near enough: the continuous capped mean + ½
    const meanTrain = a / (a - 1) - Math.pow(ev.maxTrain, 1 - a) / (a - 1) + 0.5;
    const wire = 14 + 20 + 8 + ev.payloadBytes + 16 + 3 * this.factory.perHop + 24;
    const trainNs = (meanTrain * wire * 8) / hostGbps;
    const meanGap = trainNs / ev.load;
    const end = ev.durationUs > 0 ? start + ev.durationUs * 1e3 : this.durationNs;
    // source ports taken in turn, not at random: thousands of trains from a dozen hosts would
    // reuse 5-tuples, and a reused tuple looks like one flow coming back after a silence
    let port = rng.int(32768, 60999);
    for (let t = start + rng.exp(meanGap); t < end; t += rng.exp(meanGap)) {
      const u = 1 - rng.next(); // (0, 1]
      const n = Math.min(ev.maxTrain, Math.ceil(Math.pow(u, -1 / a)));
      const hosts = this.randomHostPair(ev.leaf, ev.host);
      port = port >= 60999 ? 32768 : port + 1;
      const proto = this.aggressorProtocol();
      this.addFlow('busy', hosts, hostGbps, ev.payloadBytes, t, n, proto, port);
    }
  }

  private applyPathChange(ev: PathChangeEvent, start: number): void {
    const t = this.topo;
    if (ev.cause === 'rehash') {
      const newSeeds: number[] = [];
      for (let i = 0; i < t.leaves; i++) newSeeds.push(this.rng.u32());
      this.at(start, () => {
        for (let i = 0; i < t.leaves; i++)
          if (ev.leaf < 0 || ev.leaf === i) this.hashSeed[i] = newSeeds[i];
        this.routeEpoch++;
        this.pathChangePending = true;
      });
    } else {
      const idx = ev.leaf * t.spines + ev.spine;
      this.at(start, () => {
        this.linkUp[idx] = 0;
        this.routeEpoch++;
        this.pathChangePending = true;
      });
      if (ev.durationUs > 0) {
        this.at(start + ev.durationUs * 1e3, () => {
          this.linkUp[idx] = 1;
          this.routeEpoch++;
          this.pathChangePending = true;
        });
      }
    }
  }

  // ------------------------------------------------------------------ routing

  private spineFor(f: SimFlow): number {
    const t = this.topo;
    const S = t.spines;
    let n = 0;
    let only = -1;
    for (let j = 0; j < S; j++)
      if (this.linkUp[f.srcLeaf * S + j] && this.linkUp[f.dstLeaf * S + j]) n++;
    if (n === 0) return 0;
    const h =
      hash5(f.srcAddr, f.dstAddr, f.srcPort, f.dstPort, f.protocol, this.hashSeed[f.srcLeaf]) % n;
    for (let j = 0, k = 0; j < S; j++) {
      if (this.linkUp[f.srcLeaf * S + j] && this.linkUp[f.dstLeaf * S + j]) {
        if (k === h) return j;
        k++;
        only = j;
      }
    }
    return only;
  }

  private route(f: SimFlow): void {
    const t = this.topo;
    const spine = this.spineFor(f);
    const base = f.hairpin
      ? t.hairpinPath(f.srcLeaf, f.srcHost, f.dstLeaf, f.dstHost, spine)
      : t.basePath(f.srcLeaf, f.srcHost, f.dstLeaf, f.dstHost, spine);
    const old = f.basePath;
    f.basePath = base;
    f.path = base;
    f.routeEpoch = this.routeEpoch;
    if (old !== null && old !== base && this.pathChangePending) {
      // start: filled with the capture time of the first packet on the new path
      const pc: PendingChange = {
        start: -1,
        flow: f.label,
        oldPath: Array.from(old.swId),
        newPath: Array.from(base.swId),
      };
      this.pathChanges.push(pc);
      f.pendingChange = pc;
    }
    for (const lt of this.activeLoops) {
      if (f.dstLeaf === lt.ev.dstLeaf && f.srcLeaf !== f.dstLeaf && spine === lt.ev.spine) {
        const rounds = Math.ceil(this.factory.hopLimit / 2) + 1;
        const p = t.loopPath(f.srcLeaf, f.srcHost, f.dstLeaf, f.dstHost, spine, lt.via, rounds);
        if (p.n > this.maxv) throw new Error('simulator: loop path too long');
        this.loopOfPath.set(p.id, lt);
        f.path = p;
        break;
      }
    }
  }

  // ------------------------------------------------------------------ slots

  private allocSlot(): number {
    let s = this.free.pop();
    if (s !== undefined) return s;
    s = this.slotCount++;
    if ((s + 1) * this.maxv * VSTRIDE > this.slotHv.length) {
      const hv = new Float64Array(this.slotHv.length * 2);
      hv.set(this.slotHv);
      this.slotHv = hv;
      const m = new Float64Array(this.slotMeta.length * 2);
      m.set(this.slotMeta);
      this.slotMeta = m;
    }
    return s;
  }

  private release(slot: number): void {
    const m = this.slotMeta;
    if (--m[slot * 6 + 5] <= 0) this.free.push(slot);
  }

  // ------------------------------------------------------------------ packets

  private clock(sw: number, t: number): number {
    return Math.round(this.clkOff[sw] + t * this.clkRate[sw]);
  }

  private switchBacklog(sw: number, t: number): number {
    const tp = this.topo;
    let sum = 0;
    const q0 = tp.qBase[sw];
    for (let q = q0; q < q0 + tp.ports[sw]; q++) {
      const since = t - this.qLast[q];
      const b = since > 0 ? this.qBacklog[q] - since * tp.qRate[q] : this.qBacklog[q];
      if (b > 0) sum += b;
    }
    return sum;
  }

  /** One packet of flow `f` leaves its host at time `t`. */
  private send(f: SimFlow, t: number): void {
    if (f.routeEpoch !== this.routeEpoch) this.route(f);
    const path = f.path as Path;
    const slot = this.allocSlot();
    const hv = this.slotHv;
    const hb = slot * this.maxv * VSTRIDE;
    const meta = this.slotMeta;
    const mb = slot * 6;
    meta[mb] = f.id;
    meta[mb + 1] = path.id;
    meta[mb + 3] = f.nextIpId;
    meta[mb + 4] = f.nextSeq;
    meta[mb + 5] = 0;
    this.stats.generated++;
    f.nextIpId = (f.nextIpId + 1) & 0xffff;
    // TCP: the segment as it appears on the wire carries the INT bytes too (INT over TCP)
    if (f.protocol === 6)
      f.nextSeq =
        (f.nextSeq + f.payloadBytes + (this.tcpInt ? this.factory.intBytes(path) : 0)) % 4294967296;
    const tp = this.topo;
    const size = f.wireBytes;
    let a = t + size * this.hostNsPerByte + this.propNs;
    const n = path.n;
    for (let i = 0; i < n; i++) {
      const sw = path.sw[i];
      const q = path.q[i];
      const base = hb + i * VSTRIDE;
      // silent drops
      if (this.activeDrops.length > 0) {
        for (const d of this.activeDrops) {
          if (d.sw === sw && (d.ev.probability >= 1 || this.jrng.next() < d.ev.probability)) {
            hv[base + V_ITS] = this.clock(sw, a);
            hv[base + V_ETS] = hv[base + V_ITS];
            hv[base + V_LAT] = 0;
            hv[base + V_OCC] = 0;
            hv[base + V_UTIL] = this.uVal[q];
            hv[base + V_BUF] = 0;
            hv[base + V_EGT] = a;
            hv[base + V_QID] = 0;
            d.packets++;
            d.flows.add(f);
            if (a < d.start) d.start = a;
            if (a > d.end) d.end = a;
            this.stats.silentDrops++;
            this.dropped(slot, i, a + this.procNs, d.ev.dropReason);
            return;
          }
        }
      }
      const rate = tp.qRate[q];
      const enq =
        a + this.procNs + (this.jitterNs > 0 ? (this.jrng.next() * 2 - 1) * this.jitterNs : 0);
      // FIFO queue as (backlog bytes, time of last update); drains at the link rate. A packet
      // that arrives before the last update (visits are computed packet by packet, so a later
      // packet may reach a queue earlier) is queued as of that update.
      let backlog = this.qBacklog[q];
      const since = enq - this.qLast[q];
      if (since > 0) {
        backlog -= since * rate;
        if (backlog < 0) backlog = 0;
        this.qLast[q] = enq;
      }
      const track = this.qTrack[q];
      if (backlog + size > this.bufferBytes) {
        // tail drop (buffer overflow)
        this.qBacklog[q] = backlog;
        this.stats.tailDrops++;
        if (track > 0) this.bursts[track - 1].drops++;
        hv[base + V_ITS] = this.clock(sw, a);
        hv[base + V_ETS] = hv[base + V_ITS];
        hv[base + V_LAT] = 0;
        hv[base + V_OCC] = backlog;
        hv[base + V_UTIL] = this.uVal[q];
        hv[base + V_BUF] = 0;
        hv[base + V_EGT] = a;
        hv[base + V_QID] = 0;
        this.dropped(slot, i, enq, 71);
        return;
      }
      const eg = enq + backlog / rate;
      this.qBacklog[q] = backlog + size;
      const dt = enq - this.uLast[q];
      if (dt > 0) {
        const x = dt * this.invTau;
        // e^-x; a Padé-style approximation for small x (most updates) is much cheaper
        this.uVal[q] *= x < 0.25 ? 1 / (1 + x * (1 + x * (0.5 + x / 6))) : Math.exp(-x);
        this.uLast[q] = enq;
      }
      this.uVal[q] += (size * this.invTau) / rate;
      const its = this.clock(sw, a);
      const ets = this.clock(sw, eg);
      hv[base + V_ITS] = its;
      hv[base + V_ETS] = ets;
      hv[base + V_LAT] = ets - its;
      hv[base + V_OCC] = backlog;
      hv[base + V_UTIL] = this.uVal[q];
      hv[base + V_BUF] = this.wantBuffer ? this.switchBacklog(sw, enq) : 0;
      hv[base + V_EGT] = eg;
      hv[base + V_QID] = 0;
      if (track > 0) {
        const bt = this.bursts[track - 1];
        if (bt.ev.labelBy === 'aggressors') {
          // the burst is while its aggressors cross the queue
          if (bt.aggressors.has(f)) {
            if (enq < bt.start) bt.start = enq;
            if (eg > bt.end) bt.end = eg;
          }
          if (enq >= bt.from && enq <= bt.from + bt.ev.durationUs * 1e3) {
            if (backlog > bt.peak) bt.peak = backlog;
            if (!bt.aggressors.has(f)) bt.victims.add(f);
          }
        } else if (backlog > this.scenario.burstThresholdBytes && enq >= bt.from && enq <= bt.to) {
          if (enq < bt.start) bt.start = enq;
          if (eg > bt.end) bt.end = eg;
          if (backlog > bt.peak) bt.peak = backlog;
          if (!bt.aggressors.has(f)) bt.victims.add(f);
        }
      }
      a = eg + size / rate + this.propNs;
      // out to the appliance (it adds no INT) and back
      if (sw === path.hairpin && path.outPort[i] === tp.appliancePort)
        a += this.applianceNs[sw] + this.propNs;
    }
    this.stats.delivered++;
    meta[mb + 2] = n;
    const out = hv[hb + (n - 1) * VSTRIDE + V_EGT];
    const pc = f.pendingChange;
    if (pc) {
      pc.start = out;
      f.pendingChange = undefined;
    }
    if (this.reportsMode && this.mx) {
      meta[mb + 5] = n;
      for (let i = 0; i < n; i++) this.outHeap.push(hv[hb + i * VSTRIDE + V_EGT], slot * 64 + i);
    } else {
      meta[mb + 5] = 1;
      this.outHeap.push(out, slot * 64 + CODE_DATA);
    }
  }

  private dropped(slot: number, visit: number, time: number, reason: number): void {
    const meta = this.slotMeta;
    const mb = slot * 6;
    meta[mb + 2] = visit;
    if (this.reportsMode) {
      meta[mb + 5] = 1;
      this.slotHv[slot * this.maxv * VSTRIDE + visit * VSTRIDE + V_QID] = 0;
      this.outHeap.push(time, slot * 64 + CODE_DROP);
      (this.dropReasons ??= new Map()).set(slot, reason);
    } else {
      meta[mb + 5] = 0;
      this.free.push(slot);
    }
  }

  private dropReasons: Map<number, number> | undefined;

  private nextSequence(nodeId: number, hwId: number): number {
    const key = nodeId * 64 + hwId;
    const wrap = this.scenario.output.reportVersion === '2.0' ? 0x400000 : 4294967296;
    const s = this.seq.get(key) ?? this.scenario.output.sequenceStart % wrap;
    this.seq.set(key, (s + 1) % wrap);
    return s;
  }

  /** Emits one queued record (pops the output heap). */
  private emit(time: number, entry: number): void {
    const slot = Math.floor(entry / 64);
    const code = entry % 64;
    const meta = this.slotMeta;
    const mb = slot * 6;
    const f = this.flows[meta[mb]];
    const path = this.topo.getPath(meta[mb + 1]);
    f.ipId = meta[mb + 3];
    f.tcpSeq = meta[mb + 4];
    const hb = slot * this.maxv * VSTRIDE;
    const sink = this.sink as RecordSink;
    if (code === CODE_DATA) {
      if (f.hairpin && path.hairpin >= 0) {
        const h = this.hairpins[f.hairpin - 1];
        h.packets++;
        h.flows.add(f);
      }
      if (path.loop) {
        const lt = this.loopOfPath.get(path.id);
        if (lt) {
          lt.packets++;
          lt.flows.add(f);
          if (time < lt.start) lt.start = time;
          if (time > lt.end) lt.end = time;
        }
      }
      if (!this.reportsMode) {
        const pkt = this.factory.packet(f, path, path.n, this.slotHv, hb);
        sink.write(pkt, time);
        if (this.onOriginal)
          this.onOriginal(this.factory.originalPacket(f, path, path.n), pkt, time);
        this.stats.packetsWritten++;
        this.written++;
      } else {
        this.emitReport('sink', f, path, path.n - 1, hb, time, 0);
      }
    } else if (code === CODE_DROP) {
      const reason = this.dropReasons?.get(slot) ?? 0;
      this.dropReasons?.delete(slot);
      this.emitReport('drop', f, path, meta[mb + 2], hb, time, reason);
    } else {
      this.emitReport('hop', f, path, code, hb, time, 0);
    }
    this.stats.lastTimeNs = time;
    this.release(slot);
  }

  private emitReport(
    kind: 'sink' | 'hop' | 'drop',
    f: SimFlow,
    path: Path,
    visit: number,
    hb: number,
    time: number,
    reason: number,
  ): void {
    const nodeId = path.swId[visit];
    const hwId = this.factory.hwIdOf(path, visit);
    const seq = this.nextSequence(nodeId, hwId);
    for (const lt of this.activeLosses) {
      if (
        (lt.ev.nodeId < 0 || lt.ev.nodeId === nodeId) &&
        (lt.ev.probability >= 1 || this.jrng.next() < lt.ev.probability)
      ) {
        const key = nodeId * 64 + hwId;
        let pend = this.lossPending.get(key);
        if (!pend) this.lossPending.set(key, (pend = []));
        pend.push(time);
        this.stats.reportsLost++;
        return;
      }
    }
    // this report reveals the gap of the lost reports before it (a loss no later report reveals
    // is invisible to any collector, so it is not labelled)
    const key = nodeId * 64 + hwId;
    const pend = this.lossPending.get(key);
    if (pend && pend.length > 0) {
      for (const tm of pend) {
        let e = this.lossLast.get(key);
        if (!e || tm - e.end >= LOSS_EPISODE_GAP_NS) {
          e = { nodeId, hwId, start: tm, end: tm, lost: 0 };
          this.lossEpisodes.push(e);
          this.lossLast.set(key, e);
        }
        e.lost++;
        e.end = tm;
      }
      pend.length = 0;
    }
    const bytes = this.factory.report(kind, f, path, visit, this.slotHv, hb, seq, reason);
    (this.sink as RecordSink).write(bytes, time);
    this.stats.reportsWritten++;
    this.written++;
  }

  // ------------------------------------------------------------------ main loop

  /**
   * Runs until the simulated duration ends or `maxRecords` more records were written (then it
   * can be resumed). Returns true when the simulation is complete.
   */
  run(sink: RecordSink, maxRecords = Infinity, limit = Infinity): boolean {
    this.sink = sink;
    this.limit = limit;
    const stopAt = this.written + maxRecords;
    const fh = this.flowHeap;
    const oh = this.outHeap;
    while (!this.done) {
      if (this.written >= this.limit) {
        this.done = true;
        break;
      }
      if (this.written >= stopAt) return false;
      const tf = fh.topKey();
      const tc = this.changeIdx < this.changes.length ? this.changes[this.changeIdx].t : Infinity;
      const tm = this.nextMouse;
      const ts = this.nextStream;
      let t = tf;
      if (tc <= t) t = tc;
      if (tm < t) t = tm;
      if (ts < t) t = ts;
      // flush records due before t
      while (
        oh.size > 0 &&
        oh.topKey() <= t &&
        this.written < stopAt &&
        this.written < this.limit
      ) {
        const key = oh.topKey();
        this.emit(key, oh.pop());
      }
      if (this.written >= stopAt || this.written >= this.limit) continue;
      if (t > this.durationNs) {
        // drain what is in flight, then stop
        if (oh.size > 0) {
          const key = oh.topKey();
          this.emit(key, oh.pop());
          continue;
        }
        this.done = true;
        break;
      }
      if (tc === t) {
        this.changes[this.changeIdx++].apply();
        continue;
      }
      if (tm === t) {
        this.addMouse(t);
        continue;
      }
      if (ts === t) {
        this.addStream(t);
        continue;
      }
      const fid = fh.topVal();
      const f = this.flows[fid];
      this.send(f, t);
      if (--f.remaining > 0) fh.replaceTop(t + f.intervalNs * (0.9 + 0.2 * this.jrng.next()), fid);
      else fh.pop();
    }
    this.stats.templates = this.factory.templateCount;
    return true;
  }

  // ------------------------------------------------------------------ labels

  labels(epochNs: bigint): Labels {
    const s = this.scenario;
    const ep = (t: number): bigint => epochNs + BigInt(Math.round(t));
    const last = this.stats.lastTimeNs;
    const anomalies: Anomaly[] = [];
    for (const b of this.bursts) {
      if (b.start === Infinity || b.start > last) continue;
      anomalies.push({
        type: 'microburst',
        start: ep(b.start),
        end: ep(Math.min(b.end, last)),
        switchId: this.topo.switchId(this.topo.qSwitch[b.q]),
        egressPort: this.topo.qPort[b.q],
        queueId: 0,
        aggressors: [...b.aggressors].map((f) => f.label),
        victims: [...b.victims].map((f) => f.label),
        peakOccupancy: Math.round(b.peak),
        drops: b.drops,
      });
    }
    for (const l of this.loops) {
      if (l.packets === 0) continue;
      anomalies.push({
        type: 'microloop',
        start: ep(l.start),
        end: ep(l.end),
        switches: l.switches,
        flows: [...l.flows].map((f) => f.label),
        packets: l.packets,
      });
    }
    for (const p of this.pathChanges) {
      if (p.start < 0 || p.start > last) continue;
      anomalies.push({
        type: 'path_change',
        start: ep(p.start),
        flow: p.flow,
        oldPath: p.oldPath,
        newPath: p.newPath,
      });
    }
    for (const d of this.drops) {
      if (d.packets === 0 || d.start > last) continue;
      anomalies.push({
        type: 'drop',
        start: ep(d.start),
        end: ep(d.end),
        switchId: d.ev.switchId,
        flows: [...d.flows].map((f) => f.label),
        packets: d.packets,
      });
    }
    for (const e of this.lossEpisodes) {
      anomalies.push({
        type: 'report_loss',
        start: ep(e.start),
        end: ep(e.end),
        nodeId: e.nodeId,
        hwId: e.hwId,
        lost: e.lost,
      });
    }
    anomalies.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    // hairpins are not anomalies: listed on their own (per leaf, only when there are any)
    const pins = new Map<number, HairpinLabel>();
    for (const h of this.hairpins) {
      if (h.packets === 0) continue;
      const sw = this.topo.switchId(h.ev.leaf);
      let l = pins.get(sw);
      if (!l) {
        l = {
          switchId: sw,
          egressPort: this.topo.appliancePort,
          ingressPort: this.topo.appliancePort,
          flows: 0,
          packets: 0,
        };
        pins.set(sw, l);
      }
      l.flows += h.flows.size;
      l.packets += h.packets;
    }
    return {
      scenario: s.name,
      seed: s.seed,
      packets: this.reportsMode ? this.stats.delivered : this.stats.packetsWritten,
      reports: this.stats.reportsWritten,
      format: {
        mode: s.int.mode,
        intVersion: s.int.version,
        encapsulation: s.int.encapsulation,
        reportVersion: this.reportsMode ? s.output.reportVersion : null,
      },
      tolerance: { startNs: s.toleranceNs, endNs: s.toleranceNs },
      anomalies,
      ...(pins.size > 0 ? { hairpins: [...pins.values()] } : {}),
    };
  }
}
