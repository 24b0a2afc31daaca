export * from './strip';
export * from './verify';
export * from './tunnel';
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
