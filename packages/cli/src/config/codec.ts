/**
 * The 'codec' section: decoder profile and overrides of its markers and deviations
 * (docs/decoding.md). Keys and types are checked here; ranges by the codec's own
 * validateConfig, run once at load time through makeConfig.
 */
import {
  ConfigError,
  DEFAULT_CONFIG,
  makeConfig,
  SPEC_DEVIATIONS,
  type ConfigOverrides,
} from '@hopwatch/codec';
import { UsageError } from '../errors';
import { checkKeys, sectionOf, wrongType, type Section } from './check';

export interface CodecSettings {
  /** Deployment profile the overrides apply to. */
  profile: string;
  overrides: ConfigOverrides;
}

export const CODEC_DEFAULTS: Readonly<CodecSettings> = Object.freeze({
  profile: 'spec',
  overrides: {},
});

export const CODEC_KEYS: readonly string[] = Object.keys(DEFAULT_CONFIG);
export const DEVIATION_KEYS: readonly string[] = Object.keys(SPEC_DEVIATIONS);

const LISTS = [
  'intUdpPorts',
  'intTcpPorts',
  'geneveUdpPorts',
  'vxlanGpeUdpPorts',
  'reportUdpPorts',
  'greProtocols',
];
const INTS = ['geneveOptionClass', 'geneveMdType', 'geneveMxType', 'maxHops'];
const BOOLS = ['tcpIntAfterOptions', 'reportInnerProbe'];

function checkValueTypes(s: Section): void {
  for (const k of LISTS)
    if (k in s && (!Array.isArray(s[k]) || (s[k] as unknown[]).some((x) => !Number.isInteger(x))))
      throw wrongType(`codec.${k}`, 'a list of integers', s[k]);
  for (const k of INTS)
    if (k in s && !Number.isInteger(s[k])) throw wrongType(`codec.${k}`, 'an integer', s[k]);
  for (const k of BOOLS)
    if (k in s && typeof s[k] !== 'boolean') throw wrongType(`codec.${k}`, 'true or false', s[k]);
  if ('profile' in s && typeof s.profile !== 'string')
    throw wrongType('codec.profile', 'a profile name', s.profile);
  if ('probeMarker' in s && s.probeMarker !== null && typeof s.probeMarker !== 'string')
    throw wrongType('codec.probeMarker', '16 hex digits in quotes, or null', s.probeMarker);
  if ('dscp' in s && s.dscp !== null) {
    const d = sectionOf('codec.dscp', s.dscp);
    checkKeys('codec.dscp', d, ['value', 'mask']);
    if (!Number.isInteger(d.value)) throw wrongType('codec.dscp.value', 'an integer', d.value);
    if ('mask' in d && !Number.isInteger(d.mask))
      throw wrongType('codec.dscp.mask', 'an integer', d.mask);
  }
  if ('gpeNextProtocols' in s) {
    const g = sectionOf('codec.gpeNextProtocols', s.gpeNextProtocols);
    for (const [k, v] of Object.entries(g))
      if (typeof v !== 'string')
        throw wrongType(`codec.gpeNextProtocols.${k}`, "a version in quotes ('2.1')", v);
  }
  if ('deviations' in s) {
    const d = sectionOf('codec.deviations', s.deviations);
    checkKeys('codec.deviations', d, DEVIATION_KEYS);
    for (const [k, v] of Object.entries(d)) {
      const want = typeof (SPEC_DEVIATIONS as unknown as Section)[k];
      if (typeof v !== want)
        throw wrongType(
          `codec.deviations.${k}`,
          want === 'boolean' ? 'true or false' : 'a number',
          v,
        );
    }
  }
}

export function codecSettings(s: Section): CodecSettings {
  checkKeys('codec', s, CODEC_KEYS);
  checkValueTypes(s);
  const { profile, ...rest } = s;
  const overrides = { ...rest } as ConfigOverrides;
  if (overrides.dscp && (overrides.dscp as { mask?: number }).mask === undefined)
    overrides.dscp = { value: overrides.dscp.value, mask: 0x3f };
  const settings = {
    profile: (profile as string | undefined) ?? CODEC_DEFAULTS.profile,
    overrides,
  };
  try {
    makeConfig(settings.profile, overrides); // ranges, now rather than at first use
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`config: codec: ${e.message}`);
    throw e;
  }
  return settings;
}
