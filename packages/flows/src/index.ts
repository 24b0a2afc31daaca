export {
  FlowEndReason,
  type FlowEndReasonCode,
  type FlowRecord,
  type E2eSource,
  type LatencySummary,
} from './model';
export {
  IPV4_ELEMENTS,
  IPV6_ELEMENTS,
  TEMPLATE_IPV4,
  TEMPLATE_IPV6,
  DOCUMENTATION_PEN,
  type Element,
  type ElementType,
} from './ipfix/elements';
export { IpfixMessageBuilder, type MessageOptions, type DataMessage } from './ipfix/message';
export {
  IpfixExporter,
  parseIpfixTarget,
  type IpfixTarget,
  type IpfixExporterOptions,
  type IpfixExporterStats,
} from './ipfix/exporter';
export {
  FlowTable,
  type FlowTableOptions,
  type FlowTableStats,
  type FlowTableCheckpoint,
  type FlowSlotCheckpoint,
} from './table';
