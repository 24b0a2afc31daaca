export {
  stripCapture,
  type StripCaptureOptions,
  type StripOptions,
  stripPacket,
  type StripResult,
  type StripResultKind,
  type StripSummary,
} from './strip';
export {
  type CapturedPacket,
  type PacketVerdict,
  readPackets,
  type Role,
  verifyCaptures,
  type VerifyOptions,
  verifyPackets,
  type VerifyResult,
  verifySinkPair,
  type VerifySummary,
  verifyTransitPair,
  type Violation,
} from './verify';
export { buildTunnelPacket } from './tunnel';
export {
  parseIpHeader,
  setDscp,
  spliceAndFix,
  refreshL4Checksum,
  l4ChecksumOk,
  ipv4ChecksumOk,
  fixIpv4Checksum,
  enclosingHeaders,
  type IpHeader,
} from './packet';
