// The Linux socket ABI the guest speaks (aarch64 uses asm-generic's numbers, as x86_64 does):
// address families, message flags, struct layouts, and the socket options elfuse serves, by level.
// An option missing from `socketOptions` answers ENOPROTOOPT; what is listed is translated to the
// host's number by host/linux.ts (identity) or host/darwin.ts (XNU's), never passed on unlooked.

export const AF_UNSPEC = 0, AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16;
export const SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5;
export const SOCK_TYPE_MASK = 0xf, SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;

export const SOL_SOCKET = 1, IPPROTO_IP = 0, IPPROTO_TCP = 6, IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41, SOL_NETLINK = 270;
export const SCM_RIGHTS = 1, SCM_CREDENTIALS = 2;
export const SO_ERROR = 4, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21;

export const MSG = {
  OOB: 0x1,
  PEEK: 0x2,
  DONTROUTE: 0x4,
  CTRUNC: 0x8,
  TRUNC: 0x20,
  DONTWAIT: 0x40,
  EOR: 0x80,
  WAITALL: 0x100,
  CONFIRM: 0x800,
  ERRQUEUE: 0x2000,
  NOSIGNAL: 0x4000,
  MORE: 0x8000,
  WAITFORONE: 0x10000,
  FASTOPEN: 0x20000000,
  CMSG_CLOEXEC: 0x40000000,
} as const;

/** sizeof(struct sockaddr_storage): the longest address a call takes (move_addr_to_kernel). */
export const SOCKADDR_MAX = 128;
/** struct msghdr (64-bit): name, namelen (u32), iov, iovlen (u64), control, controllen (u64), flags. */
export const MSGHDR = {
  size: 56,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 48,
} as const;
/** struct mmsghdr: a msghdr and the count of bytes it moved. */
export const MMSGHDR = { size: 64, len: 56 } as const;
/** struct cmsghdr: u64 len, i32 level, i32 type, then data aligned to 8. */
export const CMSGHDR = { size: 16, align: 8 } as const;
/** UIO_MAXIOV: the most iovecs (and mmsghdrs) one call takes. */
export const UIO_MAXIOV = 1024;

/** The options elfuse serves: level -> option -> name (include/uapi/asm-generic/socket.h, ...). */
export const socketOptions: Record<number, Record<number, string>> = {
  [SOL_SOCKET]: {
    1: "SO_DEBUG",
    2: "SO_REUSEADDR",
    3: "SO_TYPE",
    4: "SO_ERROR",
    5: "SO_DONTROUTE",
    6: "SO_BROADCAST",
    7: "SO_SNDBUF",
    8: "SO_RCVBUF",
    9: "SO_KEEPALIVE",
    10: "SO_OOBINLINE",
    11: "SO_NO_CHECK",
    12: "SO_PRIORITY",
    13: "SO_LINGER",
    14: "SO_BSDCOMPAT",
    15: "SO_REUSEPORT",
    16: "SO_PASSCRED",
    17: "SO_PEERCRED",
    18: "SO_RCVLOWAT",
    19: "SO_SNDLOWAT",
    20: "SO_RCVTIMEO_OLD",
    21: "SO_SNDTIMEO_OLD",
    25: "SO_BINDTODEVICE",
    28: "SO_PEERNAME",
    29: "SO_TIMESTAMP_OLD",
    30: "SO_ACCEPTCONN",
    31: "SO_PEERSEC",
    32: "SO_SNDBUFFORCE",
    33: "SO_RCVBUFFORCE",
    34: "SO_PASSSEC",
    35: "SO_TIMESTAMPNS_OLD",
    36: "SO_MARK",
    37: "SO_TIMESTAMPING_OLD",
    38: "SO_PROTOCOL",
    39: "SO_DOMAIN",
    40: "SO_RXQ_OVFL",
    42: "SO_PEEK_OFF",
    46: "SO_BUSY_POLL",
    47: "SO_MAX_PACING_RATE",
    49: "SO_INCOMING_CPU",
    56: "SO_INCOMING_NAPI_ID",
    57: "SO_COOKIE",
    59: "SO_PEERGROUPS",
    60: "SO_ZEROCOPY",
    62: "SO_BINDTOIFINDEX",
    63: "SO_TIMESTAMP_NEW",
    64: "SO_TIMESTAMPNS_NEW",
    66: "SO_RCVTIMEO_NEW",
    67: "SO_SNDTIMEO_NEW",
  },
  [IPPROTO_IP]: {
    1: "IP_TOS",
    2: "IP_TTL",
    3: "IP_HDRINCL",
    4: "IP_OPTIONS",
    6: "IP_RECVOPTS",
    7: "IP_RETOPTS",
    8: "IP_PKTINFO",
    10: "IP_MTU_DISCOVER",
    11: "IP_RECVERR",
    12: "IP_RECVTTL",
    13: "IP_RECVTOS",
    14: "IP_MTU",
    15: "IP_FREEBIND",
    19: "IP_TRANSPARENT",
    20: "IP_RECVORIGDSTADDR",
    24: "IP_BIND_ADDRESS_NO_PORT",
    25: "IP_RECVFRAGSIZE",
    32: "IP_MULTICAST_IF",
    33: "IP_MULTICAST_TTL",
    34: "IP_MULTICAST_LOOP",
    35: "IP_ADD_MEMBERSHIP",
    36: "IP_DROP_MEMBERSHIP",
    37: "IP_UNBLOCK_SOURCE",
    38: "IP_BLOCK_SOURCE",
    39: "IP_ADD_SOURCE_MEMBERSHIP",
    40: "IP_DROP_SOURCE_MEMBERSHIP",
    49: "IP_MULTICAST_ALL",
  },
  [IPPROTO_IPV6]: {
    16: "IPV6_UNICAST_HOPS",
    17: "IPV6_MULTICAST_IF",
    18: "IPV6_MULTICAST_HOPS",
    19: "IPV6_MULTICAST_LOOP",
    20: "IPV6_JOIN_GROUP",
    21: "IPV6_LEAVE_GROUP",
    23: "IPV6_MTU_DISCOVER",
    24: "IPV6_MTU",
    25: "IPV6_RECVERR",
    26: "IPV6_V6ONLY",
    49: "IPV6_RECVPKTINFO",
    50: "IPV6_PKTINFO",
    51: "IPV6_RECVHOPLIMIT",
    52: "IPV6_HOPLIMIT",
    62: "IPV6_DONTFRAG",
    66: "IPV6_RECVTCLASS",
    67: "IPV6_TCLASS",
    70: "IPV6_AUTOFLOWLABEL",
    75: "IPV6_TRANSPARENT",
    78: "IPV6_FREEBIND",
  },
  [IPPROTO_TCP]: {
    1: "TCP_NODELAY",
    2: "TCP_MAXSEG",
    3: "TCP_CORK",
    4: "TCP_KEEPIDLE",
    5: "TCP_KEEPINTVL",
    6: "TCP_KEEPCNT",
    7: "TCP_SYNCNT",
    8: "TCP_LINGER2",
    9: "TCP_DEFER_ACCEPT",
    10: "TCP_WINDOW_CLAMP",
    11: "TCP_INFO",
    12: "TCP_QUICKACK",
    13: "TCP_CONGESTION",
    18: "TCP_USER_TIMEOUT",
    23: "TCP_FASTOPEN",
    25: "TCP_NOTSENT_LOWAT",
    30: "TCP_FASTOPEN_CONNECT",
    36: "TCP_INQ",
  },
  [IPPROTO_UDP]: { 1: "UDP_CORK", 103: "UDP_SEGMENT", 104: "UDP_GRO" },
  [SOL_NETLINK]: {
    1: "NETLINK_ADD_MEMBERSHIP",
    2: "NETLINK_DROP_MEMBERSHIP",
    3: "NETLINK_PKTINFO",
    4: "NETLINK_BROADCAST_ERROR",
    5: "NETLINK_NO_ENOBUFS",
    8: "NETLINK_LISTEN_ALL_NSID",
    10: "NETLINK_CAP_ACK",
    11: "NETLINK_EXT_ACK",
    12: "NETLINK_GET_STRICT_CHK",
  },
};

/** Whether elfuse serves option `name` at `level`. */
export function knownOption(level: number, name: number): boolean {
  return socketOptions[level]?.[name] !== undefined;
}
