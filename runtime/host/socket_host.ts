// What the socket syscalls (kernel/syscalls/socket.ts) need to know about the host's socket ABI.
// A Linux host's is the guest's own (`identity`): guest sockaddrs, msghdrs, cmsgs and option
// values go to the host as they are, after the pointer checks, and the host kernel answers bad
// lengths and families exactly as Linux does. macOS's differs in numbers and layouts, and
// host/darwin.ts translates through declarative tables.

/** Where struct msghdr's fields are, and how wide the two length fields are. */
export interface MsghdrLayout {
  size: number;
  name: number;
  namelen: number;
  iov: number;
  iovlen: number;
  /** Width of msg_iovlen: 8 (size_t) on Linux, 4 (int) on XNU. */
  iovlenSize: 4 | 8;
  control: number;
  controllen: number;
  /** Width of msg_controllen: 8 on Linux, 4 (socklen_t) on XNU. */
  controllenSize: 4 | 8;
  flags: number;
}

export interface SocketHost {
  /** Layouts and numbers are the guest's: nothing needs translating. */
  readonly identity: boolean;
  /** A Linux address family as the host's, or -1 when the host has none. */
  family(af: number): number;
  /** A Linux (level, option) as the host's, or undefined when the host has no such option. */
  option(level: number, name: number): readonly [number, number] | undefined;
  /** Linux MSG_* flags as the host's (flags the host lacks are dropped). */
  msgFlagsToHost(flags: number): number;
  /** Host MSG_* flags (recvmsg's msg_flags) as Linux's. */
  msgFlagsFromHost(flags: number): number;
  /** A Linux sockaddr (`src`, its length) written as the host's into `out`; the host length or -errno. */
  addrToHost(src: Uint8Array, out: Uint8Array): number;
  /** A host sockaddr (`src`, its length) written as Linux's into `out`; Linux's length. */
  addrFromHost(src: Uint8Array, out: Uint8Array): number;
  readonly msghdr: MsghdrLayout;
  /** struct cmsghdr: header size, data alignment, width of cmsg_len. */
  readonly cmsg: { size: number; align: number; lenSize: 4 | 8 };
  /** The host's SOL_SOCKET, SCM_RIGHTS and SCM_CREDENTIALS (-1: none). */
  readonly solSocket: number;
  readonly scmRights: number;
  readonly scmCredentials: number;
  /** The host's SOCK_NONBLOCK and SOCK_CLOEXEC type flags (0: set with fcntl after). */
  readonly sockNonblock: number;
  readonly sockCloexec: number;
  /** The host's MSG_DONTWAIT, MSG_NOSIGNAL and MSG_CMSG_CLOEXEC (0: none). */
  readonly msgDontwait: number;
  readonly msgNosignal: number;
  readonly msgCmsgCloexec: number;
}
