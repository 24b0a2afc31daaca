export * from './model';
export * from './reasons';
export * from './config';
export { HopwatchError, type HopwatchErrorOptions } from './errors';
export * from './batch';
export { Decoder, type DecoderStats, type LayerSpan } from './decoder';
export { materialize, materializeHop, findingsOf, toJson } from './materialize';
export { LinkType, EtherType, IpProto, IpInfo, parseIp, formatAddr } from './layers/ip';
export {
  Layer,
  type LayerName,
  isIpLayer,
  isIntShimLayer,
  isIntHeaderLayer,
  isReportLayer,
} from './layers/names';
export { decodeOne, type DecodeOneResult } from './decode-one';
export { runFuzz, prng, type FuzzReport } from './fuzz';
export * from './encode';
export { describeLayer, bitmapNames, type LayerDescription } from './describe';
export {
  INSTRUCTION_BITS,
  INSTRUCTION_FIELDS,
  HOP_COLUMN_NAMES,
  HOP_VALUE_COLUMN_NAMES,
  bitCount,
  bitMask,
  bitLabel,
  fieldOf,
  sizeOf,
  maskOf,
  type InstructionField,
  type BitSize,
} from './int/bits';
