// Reading extended attributes (ls -l asks for ACLs and SELinux labels through these): served by
// the host's. The set/remove calls stay unimplemented (ENOSYS) until something needs them.
import { Slot } from "../scratch.ts";
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import { path, pathAt } from "../paths.ts";
import type { SyscallDef } from "../syscall_def.ts";

const linux = Deno.build.os === "linux";
const XATTR_SIZE_MAX = 65536, XATTR_LIST_MAX = 65536;

/** Scratch offset of the host-side value buffer (as Linux, the value is fetched, then copied). */
const VALUE_SLOT = Slot.XATTR_VALUE;

/** Copies a fetched value (n bytes, or -errno) to the guest's buffer: EFAULT only when it is bad. */
function copyOut(k: Task, n: number, addr: number, size: number): number {
  if (n <= 0 || size === 0) return n;
  if (!k.proc.canWrite(addr, n)) return -E.EFAULT;
  k.proc.mem.set(k.rt.scratch.u8.subarray(VALUE_SLOT, VALUE_SLOT + n), addr);
  return n;
}

function get(k: Task, a: Float64Array, mode: "path" | "lpath" | "fd"): number {
  if (!linux) return -E.EOPNOTSUPP; // no xattrs are offered on other hosts yet
  const size = Math.min(a[3], XATTR_SIZE_MAX);
  const nameLen = k.proc.strlen(a[1], 256);
  if (nameLen < 0) return nameLen;
  if (nameLen === 0 || nameLen > 255) return -E.ERANGE;
  const buf = k.rt.scratch.address + VALUE_SLOT;
  const name = k.proc.hostBase + a[1];
  if (mode === "fd") {
    const e = k.proc.fds.get(a[0] | 0);
    if (e === undefined) return -E.EBADF;
    return copyOut(k, k.host(Number(libc.fgetxattr(e.hostFd, name, buf, size))), a[2], size);
  }
  const p = mode === "path" ? path(k, a[0]) : pathAt(k, -100, a[0], 0, false, false);
  if (p < 0) return p;
  const call = mode === "path" ? libc.getxattr : libc.lgetxattr;
  return copyOut(k, k.host(Number(call(p, name, buf, size))), a[2], size);
}

function list(k: Task, a: Float64Array, mode: "path" | "lpath" | "fd"): number {
  if (!linux) return -E.EOPNOTSUPP;
  const size = Math.min(a[2], XATTR_LIST_MAX);
  const buf = k.rt.scratch.address + VALUE_SLOT;
  if (mode === "fd") {
    const e = k.proc.fds.get(a[0] | 0);
    if (e === undefined) return -E.EBADF;
    return copyOut(k, k.host(Number(libc.flistxattr(e.hostFd, buf, size))), a[1], size);
  }
  const p = mode === "path" ? path(k, a[0]) : pathAt(k, -100, a[0], 0, false, false);
  if (p < 0) return p;
  const call = mode === "path" ? libc.listxattr : libc.llistxattr;
  return copyOut(k, k.host(Number(call(p, buf, size))), a[1], size);
}

const note = "the host file's attributes, on Linux hosts (EOPNOTSUPP elsewhere)";
export const xattrSyscalls: SyscallDef[] = [
  {
    name: "getxattr",
    handler: (k, a) => get(k, a, "path"),
    args: ["path", "path", "outbuf", "uint"],
    status: "partial",
    note,
  },
  {
    name: "lgetxattr",
    handler: (k, a) => get(k, a, "lpath"),
    args: ["path", "path", "outbuf", "uint"],
    status: "partial",
    note,
  },
  {
    name: "fgetxattr",
    handler: (k, a) => get(k, a, "fd"),
    args: ["fd", "path", "outbuf", "uint"],
    status: "partial",
    note,
  },
  {
    name: "listxattr",
    handler: (k, a) => list(k, a, "path"),
    args: ["path", "outbuf", "uint"],
    status: "partial",
    note,
  },
  {
    name: "llistxattr",
    handler: (k, a) => list(k, a, "lpath"),
    args: ["path", "outbuf", "uint"],
    status: "partial",
    note,
  },
  {
    name: "flistxattr",
    handler: (k, a) => list(k, a, "fd"),
    args: ["fd", "outbuf", "uint"],
    status: "partial",
    note,
  },
];
