/**
 * The names of the layers the decoder records when tracing (LayerSpan.layer). dissect, the
 * sink's strip and verify and the tests compare spans against these, never against literals.
 */
export const Layer = {
  ETHERNET: 'ethernet',
  IPV4: 'ipv4',
  IPV6: 'ipv6',
  UDP: 'udp',
  TCP: 'tcp',
  PROBE_MARKER: 'probe-marker',
  GENEVE: 'geneve',
  GENEVE_OPTION: 'geneve-option',
  VXLAN_GPE: 'vxlan-gpe',
  GRE: 'gre',
  INT_SHIM_V2: 'int-shim-v2',
  INT_SHIM_V1: 'int-shim-v1',
  INT_SHIM_GPE_V2: 'int-shim-gpe-v2',
  INT_SHIM_GPE_V1: 'int-shim-gpe-v1',
  INT_SHIM_GRE: 'int-shim-gre',
  INT_MD_HEADER: 'int-md-header',
  INT_MX_HEADER: 'int-mx-header',
  INT_MD_HEADER_V1: 'int-md-header-v1',
  INT_MD_HEADER_V05: 'int-md-header-v05',
  INT_STACK: 'int-stack',
  INT_TAIL: 'int-tail',
  ORIGINAL_L4: 'original-l4',
  PAYLOAD: 'payload',
  REPORT_V05: 'report-v05',
  REPORT_V05_DROP: 'report-v05-drop',
  REPORT_V05_LOCAL: 'report-v05-local',
  REPORT_V10: 'report-v10',
  REPORT_V20_GROUP: 'report-v20-group',
  REPORT_V20: 'report-v20',
  REPORT_V20_INT_METADATA: 'report-v20-int-metadata',
  REPORT_TLV: 'report-tlv',
} as const;

export type LayerName = (typeof Layer)[keyof typeof Layer];

/** An IPv4 or IPv6 header span. */
export function isIpLayer(name: LayerName): boolean {
  return name === Layer.IPV4 || name === Layer.IPV6;
}

/** An INT shim of any carrier (TCP/UDP, VXLAN-GPE, GRE). */
export function isIntShimLayer(name: LayerName): boolean {
  return (
    name === Layer.INT_SHIM_V2 ||
    name === Layer.INT_SHIM_V1 ||
    name === Layer.INT_SHIM_GPE_V2 ||
    name === Layer.INT_SHIM_GPE_V1 ||
    name === Layer.INT_SHIM_GRE
  );
}

/** An INT metadata header of any version (MD or MX). */
export function isIntHeaderLayer(name: LayerName): boolean {
  return (
    name === Layer.INT_MD_HEADER ||
    name === Layer.INT_MX_HEADER ||
    name === Layer.INT_MD_HEADER_V1 ||
    name === Layer.INT_MD_HEADER_V05
  );
}

/** A Telemetry Report header of any version (group, individual, TLV, metadata). */
export function isReportLayer(name: LayerName): boolean {
  return (
    name === Layer.REPORT_V05 ||
    name === Layer.REPORT_V05_DROP ||
    name === Layer.REPORT_V05_LOCAL ||
    name === Layer.REPORT_V10 ||
    name === Layer.REPORT_V20_GROUP ||
    name === Layer.REPORT_V20 ||
    name === Layer.REPORT_V20_INT_METADATA ||
    name === Layer.REPORT_TLV
  );
}
