/**
 * Why a packet yields no record (rejections), and what a decoded record does not conform to
 * (findings). Codes are small integers so counters can live in typed arrays; names are the
 * stable strings shown to users and written to JSON.
 */

export const Reject = {
  NOT_INT: 1, // no INT marker matched: ordinary traffic
  TRUNCATED: 2, // a header runs past the captured bytes
  UNSUPPORTED_LINK_TYPE: 3,
  BAD_IP_HEADER: 4,
  IP_FRAGMENT: 5, // a non-first fragment: its INT (if any) is in another packet
  LENGTH_MISMATCH: 6, // INT lengths contradict each other or the packet
  HOP_ML_MISMATCH: 7, // Hop ML smaller than the instruction bitmap demands
  UNKNOWN_INT_VERSION: 8,
  UNKNOWN_INT_TYPE: 9,
  UNKNOWN_REPORT_VERSION: 10,
  BAD_REPORT: 11, // a Telemetry Report whose headers cannot be walked
  TOO_MANY_HOPS: 12, // more hops than the configured limit (memory bound)
  TOO_DEEP: 13, // too many nested encapsulations (loop guard)
} as const;
export type RejectCode = (typeof Reject)[keyof typeof Reject];

export const REJECT_NAMES: readonly string[] = [
  'ok',
  'not-int',
  'truncated',
  'unsupported-link-type',
  'bad-ip-header',
  'ip-fragment',
  'length-mismatch',
  'hop-ml-mismatch',
  'unknown-int-version',
  'unknown-int-type',
  'unknown-report-version',
  'bad-report',
  'too-many-hops',
  'too-deep',
];
export const REJECT_COUNT = REJECT_NAMES.length;

/** Conformance findings: the checks INT test equipment makes. The record is still decoded. */
export const FindingKind = {
  IP_LENGTH: 'ip-length-mismatch',
  UDP_LENGTH: 'udp-length-mismatch',
  SHIM_LENGTH: 'shim-length-mismatch',
  STACK_REMAINDER: 'stack-not-multiple-of-hop-ml',
  HOP_ML_BITMAP: 'hop-ml-exceeds-bitmap',
  /** Hop ML shorter than the bitmap demands: hops carry fewer fields than it requests. */
  HOP_ML_BELOW_BITMAP: 'hop-ml-below-bitmap',
  HOP_LIMIT_EXCEEDED: 'hop-limit-exceeded',
  MTU_EXCEEDED: 'mtu-exceeded',
  HOP_COUNT: 'hop-count-inconsistent',
  RESERVED_BITS: 'reserved-bits-set',
  RESERVED_INSTRUCTIONS: 'reserved-instruction-bits-set',
  MX_WITH_METADATA: 'mx-header-with-metadata',
  NPT_WITH_DSCP: 'npt-nonzero-with-dscp',
  VERSION_FIELD: 'int-version-field',
  REPORT_VERSION: 'report-version-field',
  REPORT_LENGTH: 'report-length-mismatch',
  REPORT_INNER_TYPE: 'report-inner-type-mismatch',
  GENEVE_LENGTH: 'geneve-length-mismatch',
  BOTTOM_OF_STACK: 'bottom-of-stack-bit',
  TAIL: 'v05-tail-mismatch',
  INNER_NOT_INT: 'report-inner-packet-without-int',
} as const;
