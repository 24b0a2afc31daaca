/** Command-line options that set the decoder profile and every configurable INT marker. */
import {
  CodecConfig,
  ConfigError,
  ConfigOverrides,
  IntVersion,
  makeConfig,
  PROFILES,
} from '@hopwatch/codec';
import { defaultConfig, type HopwatchConfig } from './config-file';
import { UsageError } from './errors';
import { parseIntArg, parseIntList } from './numbers';

export const CODEC_OPTIONS = {
  profile: { type: 'string' },
  dscp: { type: 'string' },
  'no-dscp': { type: 'boolean' },
  'int-port': { type: 'string', multiple: true },
  'int-tcp-port': { type: 'string', multiple: true },
  'probe-marker': { type: 'string' },
  'geneve-port': { type: 'string', multiple: true },
  'geneve-class': { type: 'string' },
  'gpe-port': { type: 'string', multiple: true },
  'gpe-next-protocol': { type: 'string', multiple: true },
  'gre-protocol': { type: 'string', multiple: true },
  'report-port': { type: 'string', multiple: true },
  'max-hops': { type: 'string' },
} as const;

export const CODEC_HELP = `Decoder options (flags override the config file's 'codec' section):
  --profile NAME            deployment profile (${Object.keys(PROFILES).join(', ')})
  --dscp VALUE[/MASK]       DSCP marking INT over TCP/UDP (e.g. 0x17/0x3f, 0x20/0x20)
  --no-dscp                 do not detect INT by DSCP
  --int-port P[,P]          UDP destination port(s) carrying INT (NPT 1/2, v0.5 tail)
  --int-tcp-port P[,P]      TCP destination port(s) carrying INT
  --probe-marker HEX16      64-bit probe marker after the TCP/UDP header
  --geneve-port P[,P]       Geneve UDP port(s) (default 6081)
  --geneve-class C          Geneve option class for INT (default 0x0103)
  --gpe-port P[,P]          VXLAN-GPE UDP port(s) (default 4790)
  --gpe-next-protocol NP=V  GPE next protocol meaning INT version V (e.g. 0x82=2.1)
  --gre-protocol T[,T]      GRE protocol type(s) announcing an INT shim
  --report-port P[,P]       UDP port(s) of Telemetry Reports (default 32766)
  --max-hops N              reject records with more hops (default 64)`;

type Values = {
  [K in keyof typeof CODEC_OPTIONS]?: (typeof CODEC_OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof CODEC_OPTIONS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

export function codecConfigFrom(
  values: Values,
  file: HopwatchConfig = defaultConfig(),
): CodecConfig {
  const profile = values.profile ?? file.codec.profile;
  const o: ConfigOverrides = { ...file.codec.overrides };
  if (values.dscp !== undefined) {
    const [v, m] = values.dscp.split('/');
    o.dscp = {
      value: parseIntArg('--dscp value', v, 0, 63),
      mask: m === undefined ? 0x3f : parseIntArg('--dscp mask', m, 1, 63),
    };
  }
  if (values['no-dscp']) o.dscp = null;
  const ports = (name: string, vals: string[] | undefined): number[] | undefined =>
    parseIntList(name, vals, 1, 65535);
  o.intUdpPorts = ports('--int-port', values['int-port']) ?? o.intUdpPorts;
  o.intTcpPorts = ports('--int-tcp-port', values['int-tcp-port']) ?? o.intTcpPorts;
  o.geneveUdpPorts = ports('--geneve-port', values['geneve-port']) ?? o.geneveUdpPorts;
  o.vxlanGpeUdpPorts = ports('--gpe-port', values['gpe-port']) ?? o.vxlanGpeUdpPorts;
  o.reportUdpPorts = ports('--report-port', values['report-port']) ?? o.reportUdpPorts;
  o.greProtocols =
    parseIntList('--gre-protocol', values['gre-protocol'], 0, 0xffff) ?? o.greProtocols;
  if (values['probe-marker'] !== undefined)
    o.probeMarker = values['probe-marker'].replace(/^0x/i, '');
  if (values['geneve-class'] !== undefined)
    o.geneveOptionClass = parseIntArg('--geneve-class', values['geneve-class'], 0, 0xffff);
  if (values['max-hops'] !== undefined)
    o.maxHops = parseIntArg('--max-hops', values['max-hops'], 1, 255);
  if (values['gpe-next-protocol']) {
    const map: Record<number, IntVersion> = {};
    for (const item of values['gpe-next-protocol'].flatMap((v) => v.split(','))) {
      const [np, ver] = item.split('=');
      if (!ver || !['0.5', '1.0', '2.0', '2.1'].includes(ver)) {
        throw new UsageError(
          `--gpe-next-protocol: '${item}' must be NP=VERSION with VERSION one of 0.5, 1.0, 2.0, 2.1`,
        );
      }
      map[parseIntArg('--gpe-next-protocol', np, 0, 255)] = ver as IntVersion;
    }
    o.gpeNextProtocols = map;
  }
  for (const k of Object.keys(o) as (keyof ConfigOverrides)[]) if (o[k] === undefined) delete o[k];
  try {
    return makeConfig(profile, o);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}
