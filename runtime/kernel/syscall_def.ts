// The shape of one row of the declarative syscall table.
import type { Task } from "./task.ts";

/**
 * A syscall handler: serves the calling thread `k`, reads its arguments from `a` (x0..x5), returns
 * the result or -errno (or one of the codes in dispatch.ts: a restart, or the task parked).
 */
export type SyscallHandler = (k: Task, a: Float64Array) => number;

/** Returned by a handler that wrote a full 64-bit x0 itself (lseek offsets beyond 2^53). */
export const RESULT_SET = NaN;

/** How --strace prints an argument. */
export type ArgKind =
  | "int" // signed decimal
  | "uint" // unsigned decimal
  | "hex"
  | "fd"
  | "dirfd" // AT_FDCWD shown by name
  | "path" // NUL-terminated guest string
  | "inbuf" // bytes the guest passes in; the next argument is the length
  | "outbuf" // bytes the call fills in (shown as an address)
  | "ptr"
  | "oflags"
  | "octal"
  | "signal";

export type SyscallStatus = "supported" | "partial" | "errno";

export interface SyscallDef {
  name: string;
  handler?: SyscallHandler;
  args?: ArgKind[];
  /** Print the result in hex (addresses). */
  hexResult?: boolean;
  /** "partial": what is missing. "errno": why this fixed error is the honest answer. */
  note?: string;
  /** For status "errno": the errno name every call returns. */
  errno?: string;
  status?: SyscallStatus;
}
