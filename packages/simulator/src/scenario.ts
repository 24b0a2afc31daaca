/**
 * Scenario description (YAML or object), defaults and validation, and the decoder settings
 * that match the traffic a scenario generates.
 */
import * as fs from 'fs';
import { parse as parseYaml } from 'yaml';
import type { ConfigOverrides, IntVersion, TelemetryReportVersion } from '@hopwatch/codec';
import { HopwatchError, type HopwatchErrorOptions } from '@hopwatch/codec';

export type EncapsulationName =
  'udp-dscp' | 'tcp-dscp' | 'udp-port' | 'geneve' | 'vxlan-gpe' | 'gre';

export interface TopologySpec {
  leaves: number;
  spines: number;
  hostsPerLeaf: number;
  hostLinkGbps: number;
  fabricLinkGbps: number;
  /** Egress buffer per port/queue, bytes (tail drop beyond it). */
  bufferBytes: number;
  /** Pipeline processing latency per switch, ns. */
  processingNs: number;
  /** Uniform ± jitter on processing latency, ns. */
  processingJitterNs: number;
  /** Propagation delay per link, ns. */
  propagationNs: number;
  /** Switch clocks: offset uniform in [0, maxOffsetNs), drift uniform in ±maxDriftPpm. */
  clockMaxOffsetNs: number;
  clockMaxDriftPpm: number;
  /** TX utilisation averaging time constant, ns. */
  utilTauNs: number;
  /** hw_id = (egressPort - 1) % hwIdsPerSwitch (report sequence spaces per node). */
  hwIdsPerSwitch: number;
}

export interface ElephantSpec {
  count: number;
  rateGbps: number;
  payloadBytes: number;
}

export interface MiceSpec {
  /** Poisson arrivals per millisecond, whole fabric. */
  arrivalsPerMs: number;
  minPackets: number;
  maxPackets: number;
  rateGbps: number;
  /** Payload sizes to draw from (bytes). */
  payloadBytes: number[];
}

/** One scripted flow: from host (srcLeaf, srcHost) to (dstLeaf, dstHost), `packets` packets from
 * `startMs`, through spine `spine` (ECMP source port chosen to hash there; -1: any). */
export interface ScriptedFlowSpec {
  srcLeaf: number;
  srcHost: number;
  dstLeaf: number;
  dstHost: number;
  spine: number;
  startMs: number;
  packets: number;
  rateGbps: number;
  payloadBytes: number;
}

export interface TrafficSpec {
  elephants: ElephantSpec;
  mice: MiceSpec;
  /** Long flows that start (Poisson) and end (after minPackets..maxPackets): traffic whose
   * flows simply end, which silent-drop detection must not take for drops. */
  streams: MiceSpec;
  flows: ScriptedFlowSpec[];
  /** 'tcp', 'udp' or 'mixed' (tunnel encapsulations only; DSCP/port carriers fix the protocol). */
  protocol: 'tcp' | 'udp' | 'mixed';
  tcpPorts: number[];
  udpPorts: number[];
}

export interface IntSpec {
  version: IntVersion;
  mode: 'MD' | 'MX';
  encapsulation: EncapsulationName;
  instructionBitmap: number;
  /** Initial Remaining Hop Count (v1.0/v2.x) / MaxHopCnt (v0.5). */
  hopLimit: number;
  dscp: number;
  /** INT UDP port for udp-port (NPT 1). */
  udpPort: number;
  geneveOptionClass: number;
  greProtocol: number;
  /** What deployed devices get wrong (bmv2-style pipelines); all off by default. */
  quirks: IntQuirks;
}

/** Device quirks to reproduce (udp-dscp / tcp-dscp carriers; see docs/decoding.md). */
export interface IntQuirks {
  /** The bitmap the INT header shows (0: the instruction bitmap itself; bmv2: 0xFFFF). */
  advertisedBitmap: number;
  /** Zero bytes left below the stack, counted in the INT length (a multiple of 4). */
  extraStackBytes: number;
  /** The UDP length is not updated for the INT bytes (udp-dscp). */
  staleUdpLength: boolean;
}

export interface OutputSpec {
  /** 'packets': the INT packets as the sink receives them (mirrored, sink metadata pushed);
   * 'reports': Telemetry Reports from sinks (MD) or every hop (MX) to the collector. */
  kind: 'packets' | 'reports';
  reportVersion: TelemetryReportVersion;
  collectorAddr: string;
  collectorPort: number;
  /** Bytes of the data packet's payload copied into a report (after all headers). */
  reportPayloadBytes: number;
  /** Capture snap length (0 = whole packets). */
  snaplen: number;
  format: 'pcap' | 'pcapng';
  /** First report sequence number of every (node, hw_id) (e.g. near 2^22 to show the wrap). */
  sequenceStart: number;
}

export interface MicroburstEvent {
  type: 'microburst';
  atMs: number;
  durationUs: number;
  /** Target host (incast): leaf index (0-based) and host index on that leaf. */
  leaf: number;
  host: number;
  senders: number;
  rateGbps: number;
  payloadBytes: number;
  /** Victim flows started towards the same host around the burst. */
  victims: number;
  victimRateGbps: number;
  /** Label window: 'occupancy' = while the queue is above `burstThresholdBytes`; 'aggressors' =
   * from the first aggressor packet's enqueue to the last one's dequeue at the queue (for bursts
   * on a busy queue, whose occupancy is often above any fixed threshold); 'none' = no label:
   * the flows are load, not a burst (decoys for the scoring). */
  labelBy: 'occupancy' | 'aggressors' | 'none';
}

export interface HairpinEvent {
  type: 'hairpin';
  atMs: number;
  /** Flows created from atMs on towards this host (leaf and host index) leave the leaf to a
   * non-INT appliance on an extra leaf port and come back into the same leaf (a service chain). */
  leaf: number;
  host: number;
  /** Time through the appliance, ns. */
  applianceNs: number;
  /** Long-lived flows started towards the host (so the hairpin has traffic). */
  flows: number;
  rateGbps: number;
}

export interface BusyEvent {
  type: 'busy';
  atMs: number;
  /** A busy host port with heavy-tailed load: flows towards (leaf, host) arriving as a Poisson
   * process, each a train of back-to-back packets at the host link rate, Pareto(alpha) packets
   * long (capped at maxTrain); `load` = mean offered load as a fraction of the host link. */
  leaf: number;
  host: number;
  load: number;
  payloadBytes: number;
  alpha: number;
  maxTrain: number;
  /** 0: until the end. */
  durationUs: number;
}

export interface MicroloopEvent {
  type: 'microloop';
  atMs: number;
  durationUs: number;
  /** Destination leaf whose route flaps; the spine that loops; the leaf it bounces through. */
  dstLeaf: number;
  spine: number;
  viaLeaf: number;
  /** Long-lived flows started towards dstLeaf through the spine (so the loop has traffic). */
  flows: number;
  rateGbps: number;
}

export interface PathChangeEvent {
  type: 'path_change';
  atMs: number;
  /** 'rehash': the ECMP hash seed changes at `leaf` (-1: all leaves); 'link-failure': the
   * leaf–spine link fails (for durationUs, 0 = for good). */
  cause: 'rehash' | 'link-failure';
  leaf: number;
  spine: number;
  durationUs: number;
}

export interface DropEvent {
  type: 'drop';
  atMs: number;
  durationUs: number;
  /** Switch id that silently drops. */
  switchId: number;
  probability: number;
  dropReason: number;
}

export interface ReportLossEvent {
  type: 'report_loss';
  atMs: number;
  durationUs: number;
  probability: number;
  /** Only reports from this node (-1: any). */
  nodeId: number;
}

export type EventSpec =
  | MicroburstEvent
  | MicroloopEvent
  | PathChangeEvent
  | DropEvent
  | ReportLossEvent
  | HairpinEvent
  | BusyEvent;

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  /** Start of simulated time (ISO 8601). */
  epoch: string;
  durationMs: number;
  topology: TopologySpec;
  traffic: TrafficSpec;
  int: IntSpec;
  output: OutputSpec;
  events: EventSpec[];
  /** Label timing tolerance, ns. */
  toleranceNs: number;
  /** Queue occupancy (bytes) above which a queue counts as bursting for labels. */
  burstThresholdBytes: number;
}

export class ScenarioError extends HopwatchError {
  constructor(message: string, opts?: HopwatchErrorOptions) {
    super(message, opts);
    this.name = 'ScenarioError';
  }
}

const DEFAULT_TOPOLOGY: TopologySpec = {
  leaves: 4,
  spines: 2,
  hostsPerLeaf: 4,
  hostLinkGbps: 25,
  fabricLinkGbps: 100,
  bufferBytes: 2_000_000,
  processingNs: 300,
  processingJitterNs: 40,
  propagationNs: 250,
  clockMaxOffsetNs: 5e9,
  clockMaxDriftPpm: 20,
  utilTauNs: 50_000,
  hwIdsPerSwitch: 2,
};

const DEFAULT_TRAFFIC: TrafficSpec = {
  elephants: { count: 4, rateGbps: 2, payloadBytes: 1400 },
  mice: {
    arrivalsPerMs: 20,
    minPackets: 2,
    maxPackets: 20,
    rateGbps: 1,
    payloadBytes: [64, 200, 512, 1024],
  },
  streams: {
    arrivalsPerMs: 0,
    minPackets: 50,
    maxPackets: 500,
    rateGbps: 0.1,
    payloadBytes: [200],
  },
  flows: [],
  protocol: 'mixed',
  tcpPorts: [443, 80, 8080, 8443, 5201, 9000],
  udpPorts: [443, 5201, 9000, 8000, 5004, 7000],
};

const DEFAULT_INT: IntSpec = {
  version: '2.1',
  mode: 'MD',
  encapsulation: 'udp-dscp',
  instructionBitmap: 0xfd00,
  hopLimit: 8,
  dscp: 0x17,
  udpPort: 17768,
  geneveOptionClass: 0x0103,
  greProtocol: 0x88b5,
  quirks: { advertisedBitmap: 0, extraStackBytes: 0, staleUdpLength: false },
};

const DEFAULT_OUTPUT: OutputSpec = {
  kind: 'packets',
  reportVersion: '2.0',
  collectorAddr: '10.254.0.1',
  collectorPort: 32766,
  reportPayloadBytes: 32,
  snaplen: 0,
  format: 'pcap',
  sequenceStart: 0,
};

const EVENT_DEFAULTS: Record<string, Record<string, unknown>> = {
  microburst: {
    durationUs: 300,
    leaf: 1,
    host: 0,
    senders: 4,
    rateGbps: 10,
    payloadBytes: 1400,
    victims: 2,
    victimRateGbps: 1,
    labelBy: 'occupancy',
  },
  microloop: { durationUs: 400, dstLeaf: 1, spine: 0, viaLeaf: -1, flows: 3, rateGbps: 2 },
  path_change: { cause: 'rehash', leaf: -1, spine: 0, durationUs: 0 },
  drop: { durationUs: 1000, switchId: 101, probability: 1, dropReason: 80 },
  report_loss: { durationUs: 1000, probability: 1, nodeId: -1 },
  hairpin: { leaf: 1, host: 0, applianceNs: 2000, flows: 2, rateGbps: 0.3 },
  busy: {
    leaf: 1,
    host: 0,
    load: 0.6,
    payloadBytes: 1000,
    alpha: 1.5,
    maxTrain: 200,
    durationUs: 0,
  },
};

const FLOW_DEFAULTS: ScriptedFlowSpec = {
  srcLeaf: 0,
  srcHost: 0,
  dstLeaf: 1,
  dstHost: 0,
  spine: -1,
  startMs: 0,
  packets: 100,
  rateGbps: 0.1,
  payloadBytes: 200,
};

function num(v: unknown): unknown {
  // YAML gives hex like 0x17 as numbers already; accept "0x17" strings too
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return parseInt(v, 16);
  return v;
}

function merge<T extends object>(name: string, defaults: T, given: unknown): T {
  if (given === undefined || given === null) return { ...defaults };
  if (typeof given !== 'object' || Array.isArray(given))
    throw new ScenarioError(`${name} must be a mapping`);
  const out = { ...defaults } as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
    const defs = defaults as unknown as Record<string, unknown>;
    if (!(k in defs))
      throw new ScenarioError(
        `${name}: unknown field '${k}' (known: ${Object.keys(defaults).join(', ')})`,
      );
    const d = defs[k];
    if (d !== null && typeof d === 'object' && !Array.isArray(d))
      out[k] = merge(`${name}.${k}`, d as object, v);
    else out[k] = num(v);
  }
  return out as T;
}

function checkQuirks(i: IntSpec): void {
  const q = i.quirks;
  checkInt('int.quirks.advertisedBitmap', q.advertisedBitmap, 0, 0xffff);
  checkInt('int.quirks.extraStackBytes', q.extraStackBytes, 0, 16);
  if (q.extraStackBytes % 4 !== 0)
    throw new ScenarioError('int.quirks.extraStackBytes must be a multiple of 4');
  if (typeof q.staleUdpLength !== 'boolean')
    throw new ScenarioError('int.quirks.staleUdpLength must be true or false');
  const any = q.advertisedBitmap !== 0 || q.extraStackBytes !== 0 || q.staleUdpLength;
  if (!any) return;
  if (i.mode !== 'MD' || i.version === '0.5')
    throw new ScenarioError('int.quirks apply to INT v1.0/v2.x MD');
  if (i.encapsulation !== 'udp-dscp' && i.encapsulation !== 'tcp-dscp')
    throw new ScenarioError('int.quirks apply to the udp-dscp and tcp-dscp encapsulations');
  if (q.staleUdpLength && i.encapsulation !== 'udp-dscp')
    throw new ScenarioError('int.quirks.staleUdpLength needs encapsulation udp-dscp');
  if (
    q.advertisedBitmap !== 0 &&
    (q.advertisedBitmap & i.instructionBitmap) !== i.instructionBitmap
  )
    throw new ScenarioError(
      'int.quirks.advertisedBitmap must include every bit of int.instructionBitmap (hops carry those fields)',
    );
}

function checkInt(name: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new ScenarioError(`${name} must be an integer in ${lo}..${hi}, got ${String(v)}`);
  }
}

function checkNum(name: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new ScenarioError(`${name} must be a number in ${lo}..${hi}, got ${String(v)}`);
  }
}

const ENCAPS: EncapsulationName[] = [
  'udp-dscp',
  'tcp-dscp',
  'udp-port',
  'geneve',
  'vxlan-gpe',
  'gre',
];

/** Fills defaults and validates a scenario given as a plain object (parsed YAML). */
export function normalizeScenario(raw: unknown): Scenario {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ScenarioError('a scenario must be a mapping');
  const r = raw as Record<string, unknown>;
  const known = [
    'name',
    'description',
    'seed',
    'epoch',
    'durationMs',
    'topology',
    'traffic',
    'int',
    'output',
    'events',
    'toleranceNs',
    'burstThresholdBytes',
  ];
  for (const k of Object.keys(r))
    if (!known.includes(k))
      throw new ScenarioError(`unknown scenario field '${k}' (known: ${known.join(', ')})`);
  const intRaw =
    r.int && typeof r.int === 'object' ? { ...(r.int as Record<string, unknown>) } : r.int;
  if (intRaw && typeof intRaw === 'object') {
    const ir = intRaw as Record<string, unknown>;
    if (typeof ir.version === 'number') ir.version = ir.version.toFixed(1);
    if (ir.encapsulation === 'tcp') ir.encapsulation = 'tcp-dscp';
    if (ir.encapsulation === 'udp') ir.encapsulation = 'udp-dscp';
  }
  const outRaw =
    r.output && typeof r.output === 'object'
      ? { ...(r.output as Record<string, unknown>) }
      : r.output;
  if (outRaw && typeof outRaw === 'object') {
    const o = outRaw as Record<string, unknown>;
    if (typeof o.reportVersion === 'number') o.reportVersion = o.reportVersion.toFixed(1);
  }
  const trafficRaw = r.traffic as Record<string, unknown> | undefined;
  const s: Scenario = {
    name: String(r.name ?? 'scenario'),
    description: String(r.description ?? ''),
    seed: (num(r.seed) as number) ?? 1,
    epoch: String(r.epoch ?? '2026-01-01T00:00:00Z'),
    durationMs: (r.durationMs as number) ?? 10,
    topology: merge('topology', DEFAULT_TOPOLOGY, r.topology),
    traffic: merge('traffic', DEFAULT_TRAFFIC, trafficRaw),
    int: merge('int', DEFAULT_INT, intRaw),
    output: merge('output', DEFAULT_OUTPUT, outRaw),
    events: [],
    toleranceNs: (r.toleranceNs as number) ?? 1_000_000,
    burstThresholdBytes: (r.burstThresholdBytes as number) ?? 30_000,
  };
  if (r.seed === undefined) s.seed = 1;
  const evs = r.events ?? [];
  if (!Array.isArray(evs)) throw new ScenarioError('events must be a list');
  for (const [i, e] of evs.entries()) {
    if (!e || typeof e !== 'object') throw new ScenarioError(`events[${i}] must be a mapping`);
    const type = (e as Record<string, unknown>).type;
    if (typeof type !== 'string' || !EVENT_DEFAULTS[type]) {
      throw new ScenarioError(
        `events[${i}].type must be one of ${Object.keys(EVENT_DEFAULTS).join(', ')}`,
      );
    }
    const ev = merge(
      `events[${i}]`,
      { type, atMs: 0, ...EVENT_DEFAULTS[type] },
      e,
    ) as unknown as EventSpec;
    s.events.push(ev);
  }
  validate(s);
  return s;
}

function validate(s: Scenario): void {
  checkInt('seed', s.seed, 0, 0xffffffff);
  if (Number.isNaN(Date.parse(s.epoch)))
    throw new ScenarioError(`epoch '${s.epoch}' is not an ISO date`);
  checkNum('durationMs', s.durationMs, 0.001, 3_600_000);
  const t = s.topology;
  checkInt('topology.leaves', t.leaves, 1, 64);
  checkInt('topology.spines', t.spines, 1, 32);
  checkInt('topology.hostsPerLeaf', t.hostsPerLeaf, 1, 64);
  if (t.leaves * t.hostsPerLeaf < 2) throw new ScenarioError('need at least two hosts');
  checkNum('topology.hostLinkGbps', t.hostLinkGbps, 0.001, 1000);
  checkNum('topology.fabricLinkGbps', t.fabricLinkGbps, 0.001, 1000);
  checkInt('topology.bufferBytes', t.bufferBytes, 2000, 0xffffff);
  checkNum('topology.processingNs', t.processingNs, 1, 1e6);
  checkNum('topology.processingJitterNs', t.processingJitterNs, 0, t.processingNs - 1);
  checkNum('topology.propagationNs', t.propagationNs, 0, 1e7);
  checkNum('topology.clockMaxOffsetNs', t.clockMaxOffsetNs, 0, 1e15);
  checkNum('topology.clockMaxDriftPpm', t.clockMaxDriftPpm, 0, 1000);
  checkNum('topology.utilTauNs', t.utilTauNs, 100, 1e10);
  checkInt('topology.hwIdsPerSwitch', t.hwIdsPerSwitch, 1, 64);
  const tr = s.traffic;
  checkInt('traffic.elephants.count', tr.elephants.count, 0, 100000);
  checkNum('traffic.elephants.rateGbps', tr.elephants.rateGbps, 0.0001, 1000);
  checkInt('traffic.elephants.payloadBytes', tr.elephants.payloadBytes, 0, 9000);
  checkNum('traffic.mice.arrivalsPerMs', tr.mice.arrivalsPerMs, 0, 1e6);
  checkInt('traffic.mice.minPackets', tr.mice.minPackets, 1, 1e9);
  checkInt('traffic.mice.maxPackets', tr.mice.maxPackets, tr.mice.minPackets, 1e9);
  checkNum('traffic.mice.rateGbps', tr.mice.rateGbps, 0.0001, 1000);
  if (!Array.isArray(tr.mice.payloadBytes) || tr.mice.payloadBytes.length === 0)
    throw new ScenarioError('traffic.mice.payloadBytes must be a non-empty list');
  for (const b of tr.mice.payloadBytes) checkInt('traffic.mice.payloadBytes[]', b, 0, 9000);
  checkNum('traffic.streams.arrivalsPerMs', tr.streams.arrivalsPerMs, 0, 1e6);
  checkInt('traffic.streams.minPackets', tr.streams.minPackets, 1, 1e9);
  checkInt('traffic.streams.maxPackets', tr.streams.maxPackets, tr.streams.minPackets, 1e9);
  checkNum('traffic.streams.rateGbps', tr.streams.rateGbps, 0.0001, 1000);
  if (!Array.isArray(tr.streams.payloadBytes) || tr.streams.payloadBytes.length === 0)
    throw new ScenarioError('traffic.streams.payloadBytes must be a non-empty list');
  for (const b of tr.streams.payloadBytes) checkInt('traffic.streams.payloadBytes[]', b, 0, 9000);
  if (!Array.isArray(tr.flows)) throw new ScenarioError('traffic.flows must be a list');
  tr.flows = tr.flows.map((f, k) => {
    const x = merge(`traffic.flows[${k}]`, FLOW_DEFAULTS, f);
    const n = `traffic.flows[${k}]`;
    checkInt(`${n}.srcLeaf`, x.srcLeaf, 0, t.leaves - 1);
    checkInt(`${n}.dstLeaf`, x.dstLeaf, 0, t.leaves - 1);
    checkInt(`${n}.srcHost`, x.srcHost, 0, t.hostsPerLeaf - 1);
    checkInt(`${n}.dstHost`, x.dstHost, 0, t.hostsPerLeaf - 1);
    checkInt(`${n}.spine`, x.spine, -1, t.spines - 1);
    checkNum(`${n}.startMs`, x.startMs, 0, s.durationMs);
    checkInt(`${n}.packets`, x.packets, 1, 1e9);
    checkNum(`${n}.rateGbps`, x.rateGbps, 0.0001, 1000);
    checkInt(`${n}.payloadBytes`, x.payloadBytes, 0, 9000);
    if (x.srcLeaf === x.dstLeaf && x.srcHost === x.dstHost)
      throw new ScenarioError(`${n}: source and destination are the same host`);
    return x;
  });
  if (!['tcp', 'udp', 'mixed'].includes(tr.protocol))
    throw new ScenarioError(`traffic.protocol must be tcp, udp or mixed`);
  for (const p of [...tr.tcpPorts, ...tr.udpPorts]) checkInt('traffic port', p, 1, 65535);
  if (tr.tcpPorts.length === 0 || tr.udpPorts.length === 0)
    throw new ScenarioError('traffic.tcpPorts and udpPorts must be non-empty');
  const i = s.int;
  if (!['0.5', '1.0', '2.0', '2.1'].includes(i.version))
    throw new ScenarioError(`int.version must be 0.5, 1.0, 2.0 or 2.1`);
  if (i.mode !== 'MD' && i.mode !== 'MX') throw new ScenarioError('int.mode must be MD or MX');
  if (i.mode === 'MX' && !(i.version === '2.0' || i.version === '2.1'))
    throw new ScenarioError('INT-MX needs int.version 2.0 or 2.1');
  if (!ENCAPS.includes(i.encapsulation))
    throw new ScenarioError(`int.encapsulation must be one of ${ENCAPS.join(', ')} (or tcp/udp)`);
  if (i.version === '1.0' && i.encapsulation === 'udp-port')
    throw new ScenarioError('INT v1.0 has no port-based INT: use udp-dscp, tcp-dscp or a tunnel');
  if (i.version === '0.5' && i.encapsulation === 'geneve')
    throw new ScenarioError('INT v0.5 has no geneve encapsulation');
  if (i.encapsulation === 'gre' && !(i.version === '2.0' || i.version === '2.1'))
    throw new ScenarioError('INT over GRE exists only in v2.x');
  checkInt('int.instructionBitmap', i.instructionBitmap, 1, 0xffff);
  if (i.instructionBitmap & 0x007e)
    throw new ScenarioError('int.instructionBitmap: reserved bits 9-14 are not generated');
  checkInt('int.hopLimit', i.hopLimit, 1, 32);
  checkInt('int.dscp', i.dscp, 1, 63);
  checkInt('int.udpPort', i.udpPort, 1, 65535);
  checkInt('int.geneveOptionClass', i.geneveOptionClass, 0, 0xffff);
  checkInt('int.greProtocol', i.greProtocol, 0x0600, 0xffff);
  checkQuirks(i);
  const o = s.output;
  if (o.kind !== 'packets' && o.kind !== 'reports')
    throw new ScenarioError('output.kind must be packets or reports');
  if (!['0.5', '1.0', '2.0'].includes(o.reportVersion))
    throw new ScenarioError('output.reportVersion must be 0.5, 1.0 or 2.0');
  if (o.kind === 'reports' && i.mode === 'MX' && o.reportVersion !== '2.0')
    throw new ScenarioError('INT-MX reports need output.reportVersion 2.0');
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(o.collectorAddr))
    throw new ScenarioError('output.collectorAddr must be an IPv4 address');
  checkInt('output.collectorPort', o.collectorPort, 1, 65535);
  checkInt('output.reportPayloadBytes', o.reportPayloadBytes, 0, 9000);
  checkInt('output.snaplen', o.snaplen, 0, 262144);
  checkInt('output.sequenceStart', o.sequenceStart, 0, 0xffffffff);
  if (o.format !== 'pcap' && o.format !== 'pcapng')
    throw new ScenarioError('output.format must be pcap or pcapng');
  checkNum('toleranceNs', s.toleranceNs, 0, 1e12);
  checkNum('burstThresholdBytes', s.burstThresholdBytes, 1, 1e9);
  for (const [k, e] of s.events.entries()) {
    const n = `events[${k}]`;
    checkNum(`${n}.atMs`, e.atMs, 0, s.durationMs);
    if (e.type === 'microburst') {
      checkInt(`${n}.leaf`, e.leaf, 0, t.leaves - 1);
      checkInt(`${n}.host`, e.host, 0, t.hostsPerLeaf - 1);
      checkInt(`${n}.senders`, e.senders, 1, 1000);
      checkNum(`${n}.durationUs`, e.durationUs, 0.01, 1e7);
      if (e.labelBy !== 'occupancy' && e.labelBy !== 'aggressors' && e.labelBy !== 'none')
        throw new ScenarioError(`${n}.labelBy must be occupancy, aggressors or none`);
      if (t.leaves < 2) throw new ScenarioError(`${n}: a microburst needs at least two leaves`);
    } else if (e.type === 'microloop') {
      checkInt(`${n}.dstLeaf`, e.dstLeaf, 0, t.leaves - 1);
      checkInt(`${n}.spine`, e.spine, 0, t.spines - 1);
      checkInt(`${n}.viaLeaf`, e.viaLeaf, -1, t.leaves - 1);
      if (e.viaLeaf === e.dstLeaf)
        throw new ScenarioError(`${n}: viaLeaf must differ from dstLeaf`);
      if (t.leaves < 3) throw new ScenarioError(`${n}: a micro-loop needs at least three leaves`);
      checkNum(`${n}.durationUs`, e.durationUs, 0.01, 1e7);
    } else if (e.type === 'path_change') {
      if (e.cause !== 'rehash' && e.cause !== 'link-failure')
        throw new ScenarioError(`${n}.cause must be rehash or link-failure`);
      checkInt(`${n}.leaf`, e.leaf, e.cause === 'rehash' ? -1 : 0, t.leaves - 1);
      checkInt(`${n}.spine`, e.spine, 0, t.spines - 1);
      if (e.cause === 'link-failure' && t.spines < 2)
        throw new ScenarioError(`${n}: a link failure needs two spines`);
    } else if (e.type === 'drop') {
      checkNum(`${n}.probability`, e.probability, 0, 1);
      checkInt(`${n}.dropReason`, e.dropReason, 0, 255);
    } else if (e.type === 'report_loss') {
      checkNum(`${n}.probability`, e.probability, 0, 1);
    } else if (e.type === 'hairpin') {
      checkInt(`${n}.leaf`, e.leaf, 0, t.leaves - 1);
      checkInt(`${n}.host`, e.host, 0, t.hostsPerLeaf - 1);
      checkNum(`${n}.applianceNs`, e.applianceNs, 0, 1e9);
      checkInt(`${n}.flows`, e.flows, 0, 10000);
      checkNum(`${n}.rateGbps`, e.rateGbps, 0.0001, 1000);
      if (t.leaves < 2) throw new ScenarioError(`${n}: a hairpin needs at least two leaves`);
    } else if (e.type === 'busy') {
      checkInt(`${n}.leaf`, e.leaf, 0, t.leaves - 1);
      checkInt(`${n}.host`, e.host, 0, t.hostsPerLeaf - 1);
      checkNum(`${n}.load`, e.load, 0.001, 0.99);
      checkInt(`${n}.payloadBytes`, e.payloadBytes, 0, 9000);
      checkNum(`${n}.alpha`, e.alpha, 1.05, 10);
      checkInt(`${n}.maxTrain`, e.maxTrain, 1, 1e6);
      checkNum(`${n}.durationUs`, e.durationUs, 0, 1e10);
      if (t.leaves < 2) throw new ScenarioError(`${n}: a busy queue needs at least two leaves`);
    }
  }
}

/** Loads a scenario from a YAML file path, YAML text, or an object. */
export function loadScenario(src: string | object): Scenario {
  if (typeof src === 'object') return normalizeScenario(src);
  const text = !src.includes('\n') && fs.existsSync(src) ? fs.readFileSync(src, 'utf8') : src;
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ScenarioError(`scenario YAML: ${(e as Error).message}`);
  }
  return normalizeScenario(raw);
}

/** The decoder settings (`makeConfig(profile, overrides)`) matching a scenario's traffic. */
export function codecOverridesFor(s: Scenario): { profile: string; overrides: ConfigOverrides } {
  const overrides: ConfigOverrides = {
    dscp: { value: s.int.dscp, mask: 0x3f },
    intUdpPorts: s.int.encapsulation === 'udp-port' ? [s.int.udpPort] : [],
    intTcpPorts: [],
    probeMarker: null,
    geneveUdpPorts: [6081],
    geneveOptionClass: s.int.geneveOptionClass,
    vxlanGpeUdpPorts: [4790],
    greProtocols: [s.int.greProtocol],
    reportUdpPorts: [s.output.collectorPort],
  };
  return { profile: 'spec', overrides };
}
