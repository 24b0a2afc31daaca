export * from './model';
export * from './reasons';
export * from './config';
export * from './batch';
export { Decoder, type DecoderStats, type LayerSpan } from './decoder';
export { materialize, materializeHop, findingsOf, toJson } from './materialize';
export { LinkType, EtherType, IpProto, formatAddr } from './layers/ip';
export { decodeOne, type DecodeOneResult } from './decode-one';
export { runFuzz, prng, type FuzzReport } from './fuzz';
