/** The LINKTYPE_* values (tcpdump.org/linktypes.html) that hopwatch meets in practice. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export type KnownLinkType = (typeof LinkType)[keyof typeof LinkType];
