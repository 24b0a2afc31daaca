/**
 * Decoder configuration. Everything that varies across INT deployments is here: markers,
 * ports, code points and vendor field-width deviations. Named profiles capture the
 * deployments whose captures hopwatch is tested against.
 */
import { HopwatchError, type HopwatchErrorOptions } from './errors';
import type { IntVersion } from './model';

export interface DscpMatch {
  /** DSCP value (0-63) that marks INT, compared after masking. */
  value: number;
  /** Mask applied to the 6-bit DSCP (0x3F: exact codepoint; a single bit: that bit). */
  mask: number;
}

export interface Deviations {
  /** Bytes of ingress/egress timestamps in v1.0 stacks (spec 4; some pipelines write 8). */
  v1TimestampBytes: 4 | 8;
  /** Bytes of the level-2 port ids (spec 8 = 32+32; INTCollector packs 16+16 in 4). */
  l2PortBytes: 4 | 8;
  /** Split of the queue word (spec 8/24 = id/occupancy; INTCollector uses 16/16). */
  queueIdBits: 8 | 16;
  /** Every metadata word carries a bottom-of-stack flag in its MSB (pre-v1.0 Netronome demo). */
  bottomOfStackBit: boolean;
  /** Read Telemetry Reports whose version nibble is 1 with the v2.0 layout (bmv2 P4-INT). */
  reportV1AsV2: boolean;
  /** INT header version nibble to accept as v1.0 under a v1.0 shim (INTCollector writes 0). */
  v1HeaderVersion: number;
}

export interface CodecConfig {
  /** Profile name these settings came from (for display). */
  profile: string;
  /** DSCP marking of INT over TCP/UDP; null disables DSCP detection. */
  dscp: DscpMatch | null;
  /** UDP destination ports that carry INT (v2.x NPT 1/2; v0.5 with tail). */
  intUdpPorts: number[];
  /** TCP destination ports that carry INT (v0.5 with tail; some vendors). */
  intTcpPorts: number[];
  /** 64-bit probe marker after the TCP/UDP header, as a hex string (16 digits); null = off. */
  probeMarker: string | null;
  /** Whether INT over TCP sits after the TCP options (spec default) or before them. */
  tcpIntAfterOptions: boolean;
  geneveUdpPorts: number[];
  geneveOptionClass: number;
  /** Geneve option types (critical bit ignored) for INT-MD and INT-MX. */
  geneveMdType: number;
  geneveMxType: number;
  vxlanGpeUdpPorts: number[];
  /** VXLAN-GPE next-protocol value → INT version it announces. */
  gpeNextProtocols: Record<number, IntVersion>;
  /** GRE protocol types that announce an INT shim (TBD_INT was never assigned). */
  greProtocols: number[];
  /** UDP destination ports on which Telemetry Reports arrive. */
  reportUdpPorts: number[];
  /**
   * Inside a Telemetry Report, look for an INT shim right after the inner TCP/UDP header even
   * when no marker matches (the sink reported the packet because it carried INT).
   */
  reportInnerProbe: boolean;
  /** Upper bound on hops per record; more is rejected (memory bound). */
  maxHops: number;
  deviations: Deviations;
}

export const SPEC_DEVIATIONS: Deviations = {
  v1TimestampBytes: 4,
  l2PortBytes: 8,
  queueIdBits: 8,
  bottomOfStackBit: false,
  reportV1AsV2: false,
  v1HeaderVersion: 1,
};

/** Defaults: spec layouts, the spec examples' DSCP, and the ports seen most in the wild. */
export const DEFAULT_CONFIG: CodecConfig = {
  profile: 'spec',
  dscp: { value: 0x17, mask: 0x3f },
  intUdpPorts: [],
  intTcpPorts: [],
  probeMarker: null,
  tcpIntAfterOptions: true,
  geneveUdpPorts: [6081],
  geneveOptionClass: 0x0103,
  geneveMdType: 1,
  geneveMxType: 3,
  vxlanGpeUdpPorts: [4790],
  gpeNextProtocols: { 0x05: '0.5', 0x08: '1.0', 0x80: '2.0', 0x82: '2.1' },
  greProtocols: [],
  reportUdpPorts: [32766],
  reportInnerProbe: true,
  maxHops: 64,
  deviations: SPEC_DEVIATIONS,
};

export interface Profile {
  name: string;
  description: string;
  settings: ConfigOverrides;
}

export type ConfigOverrides = Partial<Omit<CodecConfig, 'deviations' | 'profile'>> & {
  deviations?: Partial<Deviations>;
};

/** Named deployments (docs/decoding.md, "Profiles": where each comes from). */
export const PROFILES: Record<string, Profile> = {
  spec: {
    name: 'spec',
    description: 'P4.org spec layouts; DSCP 0x17/0x3F; Geneve 6081 class 0x0103; reports on 32766',
    settings: {},
  },
  'onos-v0.5': {
    name: 'onos-v0.5',
    description:
      'ONOS/bmv2 era INT v0.5 over TCP/UDP marked by DSCP bit 0x01, Telemetry Report v0.5 on UDP 1234',
    settings: { dscp: { value: 0x01, mask: 0x01 }, reportUdpPorts: [1234, 32766], intUdpPorts: [] },
  },
  'bmv2-int-mx': {
    name: 'bmv2-int-mx',
    description:
      'bmv2 P4-INT (INT-MX, v2.1) marked by DSCP 0x17; reports on UDP 1234 laid out as v2.0 with version 1',
    settings: {
      dscp: { value: 0x17, mask: 0x3f },
      reportUdpPorts: [1234],
      deviations: { reportV1AsV2: true },
    },
  },
  'netronome-gpe': {
    name: 'netronome-gpe',
    description:
      'Netronome p4_int_transit demo: pre-v1.0 INT over VXLAN-GPE (next protocol 0x05), bottom-of-stack bit',
    settings: { deviations: { bottomOfStackBit: true } },
  },
  intcollector: {
    name: 'intcollector',
    description:
      'INTCollector/BPFCollector layout: reports on UDP 54321, INT v1.0 with version nibble 0, L2 ports 16+16, queue 16/16',
    settings: {
      reportUdpPorts: [54321],
      deviations: { l2PortBytes: 4, queueIdBits: 16, v1HeaderVersion: 0 },
    },
  },
  'scapy-int': {
    name: 'scapy-int',
    description:
      'scapy INT v2.1 layer tests: DSCP bit 0x20 (ToS 0x80) or destination port 17768 over UDP and TCP',
    settings: { dscp: { value: 0x20, mask: 0x20 }, intUdpPorts: [17768], intTcpPorts: [17768] },
  },
  'geant-v1': {
    name: 'geant-v1',
    description: 'GEANT int-platforms INT v1.0: DSCP 0x20, 64-bit timestamps, reports on 54321',
    settings: {
      dscp: { value: 0x20, mask: 0x3f },
      reportUdpPorts: [54321],
      deviations: { v1TimestampBytes: 8 },
    },
  },
  'fabric-tna': {
    name: 'fabric-tna',
    description: 'ONF SD-Fabric / fabric-tna and Intel host-INT: Telemetry Report v0.5 on 32766',
    settings: { reportUdpPorts: [32766], intUdpPorts: [33122], dscp: { value: 0x01, mask: 0x01 } },
  },
};

export class ConfigError extends HopwatchError {
  constructor(message: string, opts?: HopwatchErrorOptions) {
    super(message, opts);
    this.name = 'ConfigError';
  }
}

/** Builds a full config from a profile name and overrides, validating every value. */
export function makeConfig(profile = 'spec', overrides: ConfigOverrides = {}): CodecConfig {
  const p = PROFILES[profile];
  if (!p) {
    throw new ConfigError(
      `unknown profile '${profile}' (known: ${Object.keys(PROFILES).join(', ')})`,
    );
  }
  const merged: CodecConfig = {
    ...DEFAULT_CONFIG,
    ...p.settings,
    ...overrides,
    profile,
    deviations: {
      ...DEFAULT_CONFIG.deviations,
      ...(p.settings.deviations ?? {}),
      ...(overrides.deviations ?? {}),
    },
  };
  validateConfig(merged);
  return merged;
}

function checkPorts(name: string, ports: unknown): void {
  if (!Array.isArray(ports)) throw new ConfigError(`${name} must be a list of port numbers`);
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      throw new ConfigError(`${name}: ${String(p)} is not a port number (1-65535)`);
    }
  }
}

function checkRange(name: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new ConfigError(`${name} must be an integer in ${lo}..${hi}, got ${String(v)}`);
  }
}

export function validateConfig(c: CodecConfig): void {
  if (c.dscp !== null) {
    checkRange('dscp.value', c.dscp.value, 0, 63);
    checkRange('dscp.mask', c.dscp.mask, 1, 63);
    if ((c.dscp.value & c.dscp.mask) !== c.dscp.value) {
      throw new ConfigError(
        `dscp.value 0x${c.dscp.value.toString(16)} has bits outside dscp.mask 0x${c.dscp.mask.toString(16)}`,
      );
    }
  }
  checkPorts('intUdpPorts', c.intUdpPorts);
  checkPorts('intTcpPorts', c.intTcpPorts);
  checkPorts('geneveUdpPorts', c.geneveUdpPorts);
  checkPorts('vxlanGpeUdpPorts', c.vxlanGpeUdpPorts);
  checkPorts('reportUdpPorts', c.reportUdpPorts);
  if (c.probeMarker !== null && !/^[0-9a-fA-F]{16}$/.test(c.probeMarker)) {
    throw new ConfigError(`probeMarker must be 16 hex digits, got '${c.probeMarker}'`);
  }
  checkRange('geneveOptionClass', c.geneveOptionClass, 0, 0xffff);
  checkRange('geneveMdType', c.geneveMdType, 0, 0x7f);
  checkRange('geneveMxType', c.geneveMxType, 0, 0x7f);
  for (const [np, v] of Object.entries(c.gpeNextProtocols)) {
    checkRange('gpeNextProtocols key', Number(np), 0, 255);
    if (!['0.5', '1.0', '2.0', '2.1'].includes(v)) {
      throw new ConfigError(`gpeNextProtocols[${np}]: unknown INT version '${v}'`);
    }
  }
  for (const g of c.greProtocols) checkRange('greProtocols', g, 0, 0xffff);
  checkRange('maxHops', c.maxHops, 1, 255);
  const d = c.deviations;
  if (d.v1TimestampBytes !== 4 && d.v1TimestampBytes !== 8) {
    throw new ConfigError('deviations.v1TimestampBytes must be 4 or 8');
  }
  if (d.l2PortBytes !== 4 && d.l2PortBytes !== 8) {
    throw new ConfigError('deviations.l2PortBytes must be 4 or 8');
  }
  if (d.queueIdBits !== 8 && d.queueIdBits !== 16) {
    throw new ConfigError('deviations.queueIdBits must be 8 or 16');
  }
  checkRange('deviations.v1HeaderVersion', d.v1HeaderVersion, 0, 15);
}
