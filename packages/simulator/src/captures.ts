/**
 * The small captures committed under captures/: their scenarios (YAML), and a function that
 * regenerates every capture, its labels and the README table.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { loadScenario } from './scenario';
import { simulate } from './simulate';

export interface BundledCapture {
  /** Base file name: NAME.pcap(ng), NAME.yaml, NAME.labels.json. */
  name: string;
  /** What it shows (README table). */
  shows: string;
  yaml: string;
}

const TOPO = `topology:
  leaves: 4
  spines: 2
  hostsPerLeaf: 4
  hostLinkGbps: 10
  fabricLinkGbps: 40`;

const QUIET = `traffic:
  elephants: { count: 3, rateGbps: 0.3, payloadBytes: 300 }
  mice: { arrivalsPerMs: 20, minPackets: 2, maxPackets: 6, rateGbps: 0.5, payloadBytes: [64, 128, 200] }`;

function small(
  name: string,
  description: string,
  intYaml: string,
  extra = '',
  durationMs = 1,
  traffic = QUIET,
): string {
  return (
    `name: ${name}
description: ${description}
seed: 1
durationMs: ${durationMs}
${TOPO}
${traffic}
${intYaml}
${extra}`.trimEnd() + '\n'
  );
}

const BLACKHOLE_TRAFFIC = `  elephants: { count: 8, rateGbps: 0.1, payloadBytes: 0 }
  mice: { arrivalsPerMs: 10, minPackets: 2, maxPackets: 6, rateGbps: 0.5, payloadBytes: [0] }
  streams: { arrivalsPerMs: 2, minPackets: 50, maxPackets: 200, rateGbps: 0.1, payloadBytes: [0] }`;

/** Silent-drop scoring scenarios: flows that end, telemetry outages, blackholes (issue #14);
 * small packets and a short bitmap keep the files small. */
function lossScenario(
  name: string,
  description: string,
  seed: number,
  durationMs: number,
  traffic: string,
  extra = '',
  bitmap = '0xF000',
): string {
  return (
    `name: ${name}
description: ${description}
seed: ${seed}
durationMs: ${durationMs}
${TOPO}
traffic:
${traffic}
int: { version: '2.1', mode: MD, encapsulation: udp-dscp, instructionBitmap: ${bitmap} }
${extra}`.trimEnd() + '\n'
  );
}

/** Seeds of the rise-rule scenarios, chosen where the incast raises the queue's latency at
 * least 1.5× over its level before (an incast onto heavy-tailed load often does not: see
 * `node benchmarks/burst-rules.js`, whose sweep gives the rates over many seeds). */
const BUSY_INCAST_SEED = 1;
const BUSY_STEADY_SEED = 1;
const BUSY_SLOW_SEED = 1;

/** Busy-queue scenarios (issue #14): only busy traffic (no mice, so a busy queue's first
 * packets are its own), large packets, and a capture cut after the INT stack (snaplen; the
 * IP length stays in the header) keep the files under 1 MB. */
function busyScenario(
  name: string,
  description: string,
  seed: number,
  durationMs: number,
  events: string,
  elephants = '  elephants: { count: 0 }',
): string {
  return (
    `name: ${name}
description: ${description}
seed: ${seed}
durationMs: ${durationMs}
topology: { leaves: 4, spines: 2, hostsPerLeaf: 4, hostLinkGbps: 10, fabricLinkGbps: 40 }
traffic:
${elephants}
  mice: { arrivalsPerMs: 0 }
int: { version: '2.1', mode: MD, encapsulation: udp-dscp, instructionBitmap: 0xF000 }
output: { kind: packets, snaplen: 106 }
${events}`.trimEnd() + '\n'
  );
}

export const BUNDLED_CAPTURES: BundledCapture[] = [
  {
    name: 'demo-fabric',
    shows:
      'Main demo: INT v2.1 MD over UDP (DSCP 0x17), 4×2 leaf-spine; one microburst (incast to 10.0.2.2), one micro-loop (spine 101 ⇄ leaf 3), one ECMP rehash (path changes)',
    yaml: `name: demo-fabric
description: INT v2.1 MD over UDP (DSCP), leaf-spine, a microburst, a micro-loop and an ECMP rehash
seed: 1
durationMs: 3
${TOPO}
traffic:
  elephants: { count: 6, rateGbps: 0.15, payloadBytes: 200 }
  mice: { arrivalsPerMs: 60, minPackets: 2, maxPackets: 8, rateGbps: 0.5, payloadBytes: [64, 100, 160] }
int:
  version: '2.1'
  mode: MD
  encapsulation: udp-dscp
  dscp: 0x17
  instructionBitmap: 0xFD00
  hopLimit: 8
output:
  kind: packets
events:
  - { type: microburst, atMs: 0.6, durationUs: 80, leaf: 1, host: 0, senders: 3, rateGbps: 5, payloadBytes: 600, victims: 2, victimRateGbps: 0.3 }
  - { type: microloop, atMs: 1.4, durationUs: 150, dstLeaf: 3, spine: 0, viaLeaf: 2, flows: 2, rateGbps: 0.3 }
  - { type: path_change, atMs: 2.2, cause: rehash, leaf: -1 }
`,
  },
  {
    name: 'int-v2.1-md-udp-dscp',
    shows:
      'INT v2.1 MD after the UDP header, marked by DSCP 0x17 (NPT 0), bitmap 0xFF81 (all baseline fields incl. buffer and checksum complement)',
    yaml: small(
      'int-v2.1-md-udp-dscp',
      'INT v2.1 MD over UDP marked by DSCP',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp, instructionBitmap: 0xFF81 }`,
    ),
  },
  {
    name: 'int-v2.1-md-udp-port',
    shows: 'INT v2.1 MD over UDP destination port 17768 (NPT 1, original port in the shim)',
    yaml: small(
      'int-v2.1-md-udp-port',
      'INT v2.1 MD over UDP port 17768 (NPT 1)',
      `int: { version: '2.1', mode: MD, encapsulation: udp-port, udpPort: 17768 }`,
    ),
  },
  {
    name: 'int-v2.1-md-tcp',
    shows: 'INT v2.1 MD after the TCP header of DSCP-marked TCP flows',
    yaml: small(
      'int-v2.1-md-tcp',
      'INT v2.1 MD over TCP marked by DSCP',
      `int: { version: '2.1', mode: MD, encapsulation: tcp-dscp }`,
    ),
  },
  {
    name: 'int-v2.1-md-geneve',
    shows:
      'INT v2.1 MD as a Geneve option (class 0x0103, type 1), leaf-to-leaf tunnels, bitmap 0xF000 (fits the 124-byte option)',
    yaml: small(
      'int-v2.1-md-geneve',
      'INT v2.1 MD over Geneve',
      `int: { version: '2.1', mode: MD, encapsulation: geneve, instructionBitmap: 0xF000 }`,
    ),
  },
  {
    name: 'int-v2.1-md-vxlan-gpe',
    shows: 'INT v2.1 MD over VXLAN-GPE (UDP 4790, next protocol 0x82, shim next protocol Ethernet)',
    yaml: small(
      'int-v2.1-md-vxlan-gpe',
      'INT v2.1 MD over VXLAN-GPE',
      `int: { version: '2.1', mode: MD, encapsulation: vxlan-gpe }`,
    ),
  },
  {
    name: 'int-v2.1-md-gre',
    shows: 'INT v2.1 MD over IPv4/GRE (protocol type 0x88B5 for the INT shim, inner Ethernet)',
    yaml: small(
      'int-v2.1-md-gre',
      'INT v2.1 MD over GRE',
      `int: { version: '2.1', mode: MD, encapsulation: gre, greProtocol: 0x88B5 }`,
    ),
  },
  {
    name: 'int-v2.1-mx-udp-dscp',
    shows: 'INT v2.1 MX: data packets carry only the 12-byte MX header (no stack)',
    yaml: small(
      'int-v2.1-mx-udp-dscp',
      'INT v2.1 MX over UDP (DSCP)',
      `int: { version: '2.1', mode: MX, encapsulation: udp-dscp }`,
    ),
  },
  {
    name: 'int-v2.0-md-udp-dscp',
    shows: 'INT v2.0 MD over UDP (DSCP)',
    yaml: small(
      'int-v2.0-md-udp-dscp',
      'INT v2.0 MD over UDP (DSCP)',
      `int: { version: '2.0', mode: MD, encapsulation: udp-dscp }`,
    ),
  },
  {
    name: 'int-v1.0-md-udp-dscp',
    shows:
      'INT v1.0 MD over UDP (DSCP): 8-byte INT header, shim length includes the shim, 4-byte timestamps',
    yaml: small(
      'int-v1.0-md-udp-dscp',
      'INT v1.0 MD over UDP (DSCP)',
      `int: { version: '1.0', mode: MD, encapsulation: udp-dscp }`,
    ),
  },
  {
    name: 'int-v1.0-md-geneve',
    shows: 'INT v1.0 MD as a Geneve option',
    yaml: small(
      'int-v1.0-md-geneve',
      'INT v1.0 MD over Geneve',
      `int: { version: '1.0', mode: MD, encapsulation: geneve, instructionBitmap: 0xF000 }`,
    ),
  },
  {
    name: 'int-v1.0-bmv2-quirks',
    shows:
      'bmv2-style INT v1.0 over UDP (DSCP): header bitmap 0xFFFF while hops carry only switch id, ports, hop latency and queue (Hop ML 4), UDP length not updated, 4 stray bytes below the stack; decodes with findings, no rejections',
    yaml: small(
      'int-v1.0-bmv2-quirks',
      'bmv2-style INT v1.0 quirks',
      `int:
  version: '1.0'
  mode: MD
  encapsulation: udp-dscp
  instructionBitmap: 0xF000
  quirks: { advertisedBitmap: 0xFFFF, extraStackBytes: 4, staleUdpLength: true }`,
    ),
  },
  {
    name: 'int-v0.5-md-udp-port',
    shows:
      'INT v0.5 hop-by-hop over UDP port 17768 with the 4-byte tail header (MaxHopCnt/TotalHopCnt)',
    yaml: small(
      'int-v0.5-md-udp-port',
      'INT v0.5 over UDP port with tail',
      `int: { version: '0.5', mode: MD, encapsulation: udp-port, udpPort: 17768 }`,
    ),
  },
  {
    name: 'int-v0.5-md-udp-dscp',
    shows: 'INT v0.5 over UDP marked by DSCP (with tail)',
    yaml: small(
      'int-v0.5-md-udp-dscp',
      'INT v0.5 over UDP (DSCP)',
      `int: { version: '0.5', mode: MD, encapsulation: udp-dscp }`,
    ),
  },
  {
    name: 'tr-v2.0-md',
    shows:
      'Telemetry Report v2.0 from the INT-MD sinks to 10.254.0.1:32766: RepType 1, InType 3 (Ethernet), sink metadata + the received packet with its stack (payload truncated to 32 bytes)',
    yaml: small(
      'tr-v2.0-md',
      'INT v2.1 MD sinks sending TR v2.0',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp }\noutput: { kind: reports, reportVersion: '2.0' }`,
    ),
  },
  {
    name: 'tr-v2.0-mx',
    shows:
      'INT v2.1 MX: every hop sends a TR v2.0 report with its own metadata (RepMdBits from the instruction bitmap)',
    yaml: small(
      'tr-v2.0-mx',
      'INT v2.1 MX, per-hop TR v2.0',
      `int: { version: '2.1', mode: MX, encapsulation: udp-dscp }\noutput: { kind: reports, reportVersion: '2.0' }`,
      '',
      0.5,
    ),
  },
  {
    name: 'tr-v1.0',
    shows:
      'Telemetry Report v1.0 (16-byte header + RepMdBits metadata + inner Ethernet frame with INT v1.0)',
    yaml: small(
      'tr-v1.0',
      'INT v1.0 MD sinks sending TR v1.0',
      `int: { version: '1.0', mode: MD, encapsulation: udp-dscp }\noutput: { kind: reports, reportVersion: '1.0' }`,
    ),
  },
  {
    name: 'tr-v0.5',
    shows:
      'Telemetry Report v0.5 switch-local reports (fabric-tna / host-INT layout, version 0) + inner frame with INT v0.5',
    yaml: small(
      'tr-v0.5',
      'INT v0.5 sinks sending TR v0.5',
      `int: { version: '0.5', mode: MD, encapsulation: udp-dscp }\noutput: { kind: reports, reportVersion: '0.5' }`,
    ),
  },
  {
    name: 'microburst',
    shows:
      'Incast microburst: 4 senders at 5 Gb/s into one 10 Gb/s host port for 100 µs; queue occupancy and hop latency rise to tens of µs, victims share the queue',
    yaml: small(
      'microburst',
      'Incast microburst on leaf 2 port 1',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp }`,
      `events:
  - { type: microburst, atMs: 0.3, durationUs: 100, leaf: 1, host: 0, senders: 4, rateGbps: 5, payloadBytes: 500, victims: 2, victimRateGbps: 0.5 }`,
    ),
  },
  {
    name: 'microloop',
    shows:
      'Transient micro-loop: spine 101 and leaf 3 bounce traffic for leaf 4 for 200 µs; stacks repeat 101/3 until Remaining Hop Count hits 0 and the E bit is set',
    yaml: small(
      'microloop',
      'Micro-loop between spine 101 and leaf 3',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp, hopLimit: 8 }`,
      `events:
  - { type: microloop, atMs: 0.4, durationUs: 200, dstLeaf: 3, spine: 0, viaLeaf: 2, flows: 2, rateGbps: 0.3 }`,
    ),
  },
  {
    name: 'hairpin',
    shows:
      'Service chains: flows to 10.0.2.2 and 10.0.4.4 leave leaf 2 / leaf 4 to a non-INT appliance on port 7 and come back (the leaf twice in every stack, from the first packet, mice starting and ending); a real micro-loop (spine 101 ⇄ leaf 3) at 1 ms. Labels list the hairpins apart from the anomalies',
    yaml: small(
      'hairpin',
      'Hairpins through non-INT appliances and one transient micro-loop',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp, hopLimit: 8 }`,
      `events:
  - { type: hairpin, atMs: 0, leaf: 1, host: 0, applianceNs: 2000, flows: 3, rateGbps: 0.3 }
  - { type: hairpin, atMs: 0, leaf: 3, host: 2, applianceNs: 2000, flows: 2, rateGbps: 0.3 }
  - { type: microloop, atMs: 1, durationUs: 200, dstLeaf: 3, spine: 0, viaLeaf: 2, flows: 2, rateGbps: 0.3 }`,
      2,
      `traffic:
  elephants: { count: 3, rateGbps: 0.2, payloadBytes: 200 }
  mice: { arrivalsPerMs: 30, minPackets: 2, maxPackets: 8, rateGbps: 0.5, payloadBytes: [64, 128, 200] }`,
    ),
  },
  {
    name: 'path-change',
    shows:
      'Link failure leaf 1 – spine 101 at 0.5 ms (restored at 0.8 ms): flows move to spine 102 and back',
    yaml: small(
      'path-change',
      'Link failure and restore',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp }`,
      `events:
  - { type: path_change, atMs: 0.5, cause: link-failure, leaf: 0, spine: 0, durationUs: 300 }`,
      1,
      `traffic:
  elephants: { count: 8, rateGbps: 0.2, payloadBytes: 200 }
  mice: { arrivalsPerMs: 10, minPackets: 2, maxPackets: 6, rateGbps: 0.5, payloadBytes: [64, 128, 200] }`,
    ),
  },
  {
    name: 'drops',
    shows:
      'Silent drops at spine 102 for 300 µs (probability 1): packets through it vanish from the mirrored stream',
    yaml: small(
      'drops',
      'Silent drops at spine 102',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp }`,
      `events:
  - { type: drop, atMs: 0.4, durationUs: 300, switchId: 102, probability: 1, dropReason: 80 }`,
    ),
  },
  {
    name: 'drops-reports',
    shows:
      'The same silent drops with reports on: spine 102 sends TR v2.0 drop reports (D flag, drop reason 80)',
    yaml: small(
      'drops-reports',
      'Drop reports from spine 102',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp }\noutput: { kind: reports, reportVersion: '2.0' }`,
      `events:
  - { type: drop, atMs: 0.4, durationUs: 300, switchId: 102, probability: 1, dropReason: 80 }`,
    ),
  },
  {
    name: 'report-loss',
    shows:
      'TR v2.0 reports lost between sinks and the collector (sequence gaps per node/hw_id); sequences start near 2^22 so the 22-bit wrap shows too',
    yaml: small(
      'report-loss',
      'Report loss with 22-bit sequence wrap',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp }\noutput: { kind: reports, reportVersion: '2.0', sequenceStart: 4194290 }`,
      `events:
  - { type: report_loss, atMs: 0.3, durationUs: 200, probability: 0.3 }
  - { type: report_loss, atMs: 0.7, durationUs: 100, probability: 1, nodeId: 2 }`,
    ),
  },
  {
    name: 'several-at-once',
    shows:
      'Several faults in one TR v2.0 stream: microburst, silent drops with drop reports, and report loss',
    yaml: small(
      'several-at-once',
      'Microburst + drops + report loss',
      `int: { version: '2.1', mode: MD, encapsulation: udp-dscp }\noutput: { kind: reports, reportVersion: '2.0' }`,
      `events:
  - { type: microburst, atMs: 0.2, durationUs: 80, leaf: 2, host: 1, senders: 3, rateGbps: 5, payloadBytes: 500, victims: 1 }
  - { type: drop, atMs: 0.5, durationUs: 150, switchId: 101, probability: 0.5 }
  - { type: report_loss, atMs: 0.7, durationUs: 150, probability: 0.5 }`,
    ),
  },
  {
    name: 'flows-end',
    shows:
      'No faults: long flows (50–200 packets) start and end on busy paths; a flow that ends is not a silent drop (zero anomalies expected)',
    yaml: lossScenario(
      'flows-end',
      'Long flows that start and end on busy paths, no faults',
      2,
      6,
      `  elephants: { count: 6, rateGbps: 0.1, payloadBytes: 0 }
  mice: { arrivalsPerMs: 10, minPackets: 2, maxPackets: 6, rateGbps: 0.5, payloadBytes: [0] }
  streams: { arrivalsPerMs: 4, minPackets: 50, maxPackets: 200, rateGbps: 0.1, payloadBytes: [0] }`,
    ),
  },
  {
    name: 'blackhole-persistent',
    shows:
      'Persistent blackhole: spine 102 drops every packet from 3 ms to the end; its flows never come back while those through spine 101 keep going',
    yaml: lossScenario(
      'blackhole-persistent',
      'Spine 102 drops everything from 3 ms on',
      3,
      8,
      BLACKHOLE_TRAFFIC,
      `events:
  - { type: drop, atMs: 3, durationUs: 10000, switchId: 102, probability: 1 }`,
    ),
  },
  {
    name: 'blackhole-transient',
    shows: 'Transient blackhole: spine 101 drops every packet for 1 ms, then its flows come back',
    yaml: lossScenario(
      'blackhole-transient',
      'Spine 101 drops everything for 1 ms',
      4,
      8,
      BLACKHOLE_TRAFFIC,
      `events:
  - { type: drop, atMs: 3, durationUs: 1000, switchId: 101, probability: 1 }`,
    ),
  },
  {
    name: 'blackhole-short-flow',
    shows:
      'Blackhole at spine 102 for 2 ms while two short flows through spine 101 end normally at its start: one drop, at 102, without them',
    yaml: lossScenario(
      'blackhole-short-flow',
      'Spine 102 drops everything for 2 ms, two flows through spine 101 end as it starts',
      6,
      8,
      `${BLACKHOLE_TRAFFIC}
  flows:
    - { srcLeaf: 0, srcHost: 1, dstLeaf: 1, dstHost: 2, spine: 0, startMs: 2.38, packets: 40, rateGbps: 0.1, payloadBytes: 0 }
    - { srcLeaf: 2, srcHost: 1, dstLeaf: 3, dstHost: 2, spine: 0, startMs: 2.4, packets: 40, rateGbps: 0.1, payloadBytes: 0 }`,
      `events:
  - { type: drop, atMs: 3, durationUs: 2000, switchId: 102, probability: 1 }`,
    ),
  },
  {
    name: 'clean-baseline',
    shows:
      'Clean baseline: about 400 flows start and end over 16 ms (plus elephants and mice), no faults: zero anomalies of every type expected (the quality test also runs a 4000-flow one)',
    yaml: lossScenario(
      'clean-baseline',
      'About 400 flows starting and ending over 16 ms, no faults',
      7,
      16,
      `  elephants: { count: 4, rateGbps: 0.02, payloadBytes: 0 }
  mice: { arrivalsPerMs: 4, minPackets: 2, maxPackets: 6, rateGbps: 0.5, payloadBytes: [0] }
  streams: { arrivalsPerMs: 25, minPackets: 16, maxPackets: 24, rateGbps: 0.05, payloadBytes: [0] }`,
      '',
      '0xA000',
    ),
  },
  {
    name: 'busy-start',
    shows:
      'A busy queue from the start, no faults: heavy-tailed load (Poisson trains, Pareto(1.5) lengths up to 50 packets, 60 % of the 10 Gb/s host port of 10.0.2.2); every train is a flow that starts and ends: zero anomalies expected, none while the queue learns its baseline (10 ms) nor after',
    yaml: busyScenario(
      'busy-start',
      'A busy host port from 0 ms, no faults',
      1,
      12,
      `events:
  - { type: busy, atMs: 0, leaf: 1, host: 0, load: 0.6, payloadBytes: 1400, alpha: 1.5, maxTrain: 50 }`,
    ),
  },
  {
    name: 'busy-appears',
    shows:
      'A busy queue that appears mid-capture, no faults: three light flows from 0 ms, then 60 % heavy-tailed load on 10.0.4.4 (a queue not seen before) from 3 ms: zero anomalies expected',
    yaml: busyScenario(
      'busy-appears',
      'A busy host port appearing at 3 ms beside three light flows, no faults',
      2,
      12,
      `events:
  - { type: busy, atMs: 3, leaf: 3, host: 2, load: 0.6, payloadBytes: 1400, alpha: 1.5, maxTrain: 50 }`,
      '  elephants: { count: 3, rateGbps: 0.2, payloadBytes: 300 }',
    ),
  },
  {
    name: 'busy-incast',
    shows:
      'A burst on a busy queue caught by the rise rule: 60 % heavy-tailed load on 10.0.2.2 from 0 ms, then two senders add 2 Gb/s for 1 ms at 11 ms (its latency about doubles, far below the absolute threshold of a busy queue): one microburst, the two senders as aggressors',
    yaml: busyScenario(
      'busy-incast',
      'A busy host port with a 2 Gb/s, 1 ms incast at 11 ms',
      BUSY_INCAST_SEED,
      13,
      `events:
  - { type: busy, atMs: 0, leaf: 1, host: 0, load: 0.6, payloadBytes: 1400, alpha: 1.5, maxTrain: 50 }
  - { type: microburst, atMs: 11, durationUs: 1000, leaf: 1, host: 0, senders: 2, rateGbps: 1, payloadBytes: 1400, victims: 0, victimRateGbps: 0.1, labelBy: aggressors }`,
    ),
  },
];

/** Scoring scenarios too large to commit as captures (every capture stays under 1 MB): the
 * quality test simulates them in memory. */
export const SCORING_SCENARIOS: BundledCapture[] = [
  {
    name: 'busy-incast-steady',
    shows:
      'A busy queue that also carries two steady 0.5 Gb/s flows from 0 ms (not new, so they are never aggressors of a rise), and a 2 Gb/s, 1 ms incast at 14 ms: one microburst',
    yaml: busyScenario(
      'busy-incast-steady',
      'A busy host port with steady flows and a 2 Gb/s, 1 ms incast at 14 ms',
      BUSY_STEADY_SEED,
      20,
      `events:
  - { type: busy, atMs: 0, leaf: 1, host: 0, load: 0.6, payloadBytes: 1400, alpha: 1.5, maxTrain: 50 }
  - { type: microburst, atMs: 0, durationUs: 20000, leaf: 1, host: 0, senders: 2, rateGbps: 0.5, payloadBytes: 1400, victims: 0, victimRateGbps: 0.1, labelBy: none }
  - { type: microburst, atMs: 14, durationUs: 1000, leaf: 1, host: 0, senders: 2, rateGbps: 1, payloadBytes: 1400, victims: 0, victimRateGbps: 0.1, labelBy: aggressors }`,
    ),
  },
  {
    name: 'busy-slow-flows',
    shows:
      'A busy queue joined at 14 ms by two slow new flows (0.2 Gb/s each, 5 ms): new and lasting, but carrying a few % of the bytes, so no rise is theirs: zero anomalies expected',
    yaml: busyScenario(
      'busy-slow-flows',
      'A busy host port joined by two slow flows at 14 ms, no faults',
      BUSY_SLOW_SEED,
      20,
      `events:
  - { type: busy, atMs: 0, leaf: 1, host: 0, load: 0.6, payloadBytes: 1400, alpha: 1.5, maxTrain: 50 }
  - { type: microburst, atMs: 14, durationUs: 5000, leaf: 1, host: 0, senders: 2, rateGbps: 0.2, payloadBytes: 1400, victims: 0, victimRateGbps: 0.1, labelBy: none }`,
    ),
  },
  {
    name: 'busy-long',
    shows:
      'Two busy host ports for 30 ms (60 % heavy-tailed load on 10.0.2.2 from 0 ms and on 10.0.4.4 from 10 ms), thousands of trains starting and ending, no faults: zero anomalies expected',
    yaml: busyScenario(
      'busy-long',
      'Two busy host ports (from 0 and 10 ms) for 30 ms, no faults',
      3,
      30,
      `events:
  - { type: busy, atMs: 0, leaf: 1, host: 0, load: 0.6, payloadBytes: 1400, alpha: 1.5, maxTrain: 50 }
  - { type: busy, atMs: 10, leaf: 3, host: 2, load: 0.6, payloadBytes: 1400, alpha: 1.5, maxTrain: 50 }`,
    ),
  },
  {
    name: 'report-outage',
    shows:
      'TR v2.0 reports of leaf 3 lost for 15 ms (a telemetry outage at one sink): report loss only, no drops (the packets were delivered)',
    yaml: lossScenario(
      'report-outage',
      'Telemetry outage, every report of leaf 3 lost for 15 ms',
      5,
      24,
      `  elephants: { count: 16, rateGbps: 0.02, payloadBytes: 0 }
  mice: { arrivalsPerMs: 2, minPackets: 2, maxPackets: 6, rateGbps: 0.5, payloadBytes: [0] }
  streams: { arrivalsPerMs: 0.3, minPackets: 100, maxPackets: 400, rateGbps: 0.02, payloadBytes: [0] }`,
      `output: { kind: reports, reportVersion: '2.0' }
events:
  - { type: report_loss, atMs: 8, durationUs: 15000, probability: 1, nodeId: 3 }`,
      '0x8000',
    ),
  },
];

export interface BundledResult {
  name: string;
  file: string;
  bytes: number;
  packets: number;
  reports: number;
  anomalies: number;
}

/** Regenerates every bundled capture, its scenario YAML, labels JSON and the README in `dir`. */
export function makeBundledCaptures(dir: string): BundledResult[] {
  fs.mkdirSync(dir, { recursive: true });
  const out: BundledResult[] = [];
  for (const c of BUNDLED_CAPTURES) {
    const yamlFile = path.join(dir, `${c.name}.yaml`);
    fs.writeFileSync(yamlFile, toYaml(parseYaml(c.yaml)));
    const s = loadScenario(c.yaml);
    const file = `${c.name}.${s.output.format}`;
    const r = simulate(s, {
      out: path.join(dir, file),
      labels: path.join(dir, `${c.name}.labels.json`),
    });
    out.push({
      name: c.name,
      file,
      bytes: fs.statSync(path.join(dir, file)).size,
      packets: r.stats.packetsWritten,
      reports: r.stats.reportsWritten,
      anomalies: r.labels.anomalies.length,
    });
  }
  fs.writeFileSync(path.join(dir, 'README.md'), readme(out));
  return out;
}

const HEX_KEYS = new Set([
  'instructionBitmap',
  'dscp',
  'greProtocol',
  'geneveOptionClass',
  'advertisedBitmap',
]);

/** Block-style YAML (stable under Prettier): strings single-quoted, short lists inline. */
export function toYaml(v: unknown, indent = ''): string {
  const scalar = (k: string, x: unknown): string =>
    typeof x === 'string'
      ? `'${x.replace(/'/g, "''")}'`
      : typeof x === 'number' && HEX_KEYS.has(k)
        ? `0x${x.toString(16).toUpperCase().padStart(2, '0')}`
        : String(x);
  const lines: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(x)) {
      if (x.every((e) => e === null || typeof e !== 'object')) {
        lines.push(`${indent}${k}: [${x.map((e) => scalar(k, e)).join(', ')}]`);
      } else {
        lines.push(`${indent}${k}:`);
        for (const e of x) {
          const body = toYaml(e, indent + '    ')
            .split('\n')
            .filter(Boolean);
          lines.push(`${indent}  - ${body[0].trimStart()}`, ...body.slice(1));
        }
      }
    } else if (x !== null && typeof x === 'object') {
      lines.push(`${indent}${k}:`, toYaml(x, indent + '  ').trimEnd());
    } else {
      lines.push(`${indent}${k}: ${scalar(k, x)}`);
    }
  }
  return lines.join('\n') + '\n';
}

function readme(rows: BundledResult[]): string {
  const byName = new Map(BUNDLED_CAPTURES.map((c) => [c.name, c]));
  const lines = [
    '# Bundled captures',
    '',
    'Small captures generated by `@hopwatch/simulator` (deterministic: same scenario and seed, same bytes).',
    'Each `NAME.pcap` has its scenario `NAME.yaml` and ground-truth labels `NAME.labels.json` (see `docs/simulator.md`).',
    'Timestamps start at 2026-01-01T00:00:00Z (nanosecond pcap). Decode them with the settings the scenario implies:',
    '`codecOverridesFor(loadScenario("captures/NAME.yaml"))` (profile `spec`; DSCP 0x17, INT UDP port 17768, GRE protocol 0x88B5, reports on UDP 32766).',
    '',
    "Regenerate: `npx tsc -b packages/simulator && node -e \"require('@hopwatch/simulator').makeBundledCaptures('captures')\"`.",
    '',
  ];
  const table: string[][] = [
    ['Capture', 'Packets', 'Reports', 'Labelled anomalies', 'Size', 'What it shows'],
  ];
  for (const r of rows) {
    table.push([
      `\`${r.file}\``,
      String(r.packets),
      String(r.reports),
      String(r.anomalies),
      `${(r.bytes / 1024).toFixed(0)} KiB`,
      byName.get(r.name)?.shows ?? '',
    ]);
  }
  // aligned the way Prettier aligns Markdown tables
  const right = [false, true, true, true, true, false];
  const width = table[0].map((_, c) => Math.max(3, ...table.map((row) => [...row[c]].length)));
  const cell = (t: string, c: number): string => {
    const pad = ' '.repeat(width[c] - [...t].length);
    return right[c] ? pad + t : t + pad;
  };
  lines.push(`| ${table[0].map(cell).join(' | ')} |`);
  lines.push(
    `| ${width.map((w, c) => (right[c] ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`,
  );
  for (const row of table.slice(1)) lines.push(`| ${row.map(cell).join(' | ')} |`);
  lines.push(
    '',
    'Notes:',
    '',
    '- Hosts are 10.0.L.H (leaf L = 1..4, host H = 2..5); switch ids are 1..4 (leaves) and 101..102 (spines); tunnel endpoints and report sources are 10.255.0.ID; the collector is 10.254.0.1.',
    '- Per-hop values come from the queue model: queue occupancy in bytes, hop latency in ns (processing ≈ 300 ns + queueing), timestamps from each switch clock (offset + drift), tx utilisation in 1/100 %.',
    '- Micro-loop packets carry the E bit (hop limit exceeded): the decoder reports the `hop-limit-exceeded` finding for them on purpose. Every other record decodes with no findings.',
    '- Wireshark has no INT dissector: INT after UDP shows as data; its DNS heuristic misreads some TR v1.0 headers (disable with `--disable-heuristic dns_udp`).',
    '',
  );
  return lines.join('\n');
}
