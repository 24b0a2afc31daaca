/** The 'flows' section (replay, serve, analyze): per-flow intervals and their IPFIX export. */
import { parseIpfixTarget, type IpfixTarget } from '@hopwatch/flows';
import { UsageError } from '../errors';
import { checkKeys, optInt, optStringList, wrongType, type Section } from './check';

export interface FlowsSettings {
  /** Compute flow intervals and store them (default true). */
  enabled: boolean;
  /** Seconds; an interval of a flow that keeps sending closes after this long. */
  activeTimeout: number;
  /** Seconds without a packet after which a flow's interval closes. */
  idleTimeout: number;
  /** Flows kept at once; beyond, the least recently seen is exported early. */
  maxFlows: number;
  /** IPFIX collectors ([udp://|tcp://]HOST:PORT). */
  ipfix: IpfixTarget[];
  observationDomain: number;
  /** Private Enterprise Number of hopwatch's own IPFIX elements (docs/ipfix.md). */
  enterprise: number;
  /** UDP: seconds between template resends. */
  templateRefresh: number;
}

export const FLOWS_DEFAULTS: Readonly<FlowsSettings> = Object.freeze({
  enabled: true,
  activeTimeout: 10,
  idleTimeout: 15,
  maxFlows: 32_768,
  ipfix: [],
  observationDomain: 1,
  enterprise: 32473,
  templateRefresh: 30,
});

export const FLOWS_KEYS = [
  'enabled',
  'activeTimeout',
  'idleTimeout',
  'maxFlows',
  'ipfix',
  'observationDomain',
  'enterprise',
  'templateRefresh',
] as const;

export function ipfixTarget(name: string, spec: string): IpfixTarget {
  try {
    return parseIpfixTarget(spec);
  } catch (e) {
    throw new UsageError(`${name}: ${(e as Error).message}`);
  }
}

export function flowsConfig(s: Section): FlowsSettings {
  checkKeys('flows', s, FLOWS_KEYS);
  if (s.enabled !== undefined && s.enabled !== null && typeof s.enabled !== 'boolean')
    throw wrongType('flows.enabled', 'true or false', s.enabled);
  return {
    enabled: typeof s.enabled === 'boolean' ? s.enabled : FLOWS_DEFAULTS.enabled,
    activeTimeout: optInt('flows', s, 'activeTimeout', 1, 86_400) ?? FLOWS_DEFAULTS.activeTimeout,
    idleTimeout: optInt('flows', s, 'idleTimeout', 1, 86_400) ?? FLOWS_DEFAULTS.idleTimeout,
    maxFlows: optInt('flows', s, 'maxFlows', 16, 10_000_000) ?? FLOWS_DEFAULTS.maxFlows,
    ipfix: (optStringList('flows', s, 'ipfix') ?? []).map((t) =>
      ipfixTarget('config: flows.ipfix', t),
    ),
    observationDomain:
      optInt('flows', s, 'observationDomain', 0, 0xffffffff) ?? FLOWS_DEFAULTS.observationDomain,
    enterprise: optInt('flows', s, 'enterprise', 1, 0xffffffff) ?? FLOWS_DEFAULTS.enterprise,
    templateRefresh:
      optInt('flows', s, 'templateRefresh', 1, 3600) ?? FLOWS_DEFAULTS.templateRefresh,
  };
}
