// File permission checks with a guest's emulated ids (docs/internals.md, "Credentials"). The host
// checks every open and access with elfuse's own ids; once a guest's ids differ from them (a root
// guest that called setuid(1000)), elfuse checks the file's mode, owner and group against the
// guest's ids first, as Linux's may_open and generic_permission do. Nothing runs while the ids
// are the host's (Credentials.filesAsHost). Directory search permission along the path is not
// checked (the host path under a sysroot passes directories the guest never sees).
import { statx } from "../host/linux.ts";
import { E } from "./errno.ts";
import { Slot } from "./scratch.ts";
import type { Task } from "./task.ts";

const MAY_EXEC = 1, MAY_WRITE = 2, MAY_READ = 4;
const AT_SYMLINK_NOFOLLOW = 0x100, AT_EACCESS = 0x200, STATX_BASIC = 0x7ff;
const S_IFMT = 0o170000, S_IFDIR = 0o040000;
// asm-generic/fcntl.h, as aarch64 uses them.
const O_ACCMODE = 3, O_CREAT = 0o100, O_EXCL = 0o200, O_TRUNC = 0o1000, O_PATH = 0o10000000;

/**
 * Whether the guest may access the file `path` names (relative to host dir fd `atDir`) for
 * `mask`: 0, or -EACCES. A file that cannot be stat'ed passes: the host call reports why.
 */
function check(
  k: Task,
  atDir: number,
  path: number,
  follow: boolean,
  mask: number,
  real: boolean,
  opening = false,
): number | undefined {
  const s = k.rt.scratch;
  const r = statx(
    atDir,
    path,
    follow ? 0 : AT_SYMLINK_NOFOLLOW,
    STATX_BASIC,
    s.address + Slot.STATX,
  );
  if (r < 0) return undefined;
  const v = s.view, mode = v.getUint16(Slot.STATX + 28, true);
  const owner = v.getUint32(Slot.STATX + 20, true), group = v.getUint32(Slot.STATX + 24, true);
  // Opening a directory for writing is EISDIR before any permission check (may_open).
  if (opening && (mode & S_IFMT) === S_IFDIR && (mask & MAY_WRITE)) return 0;
  return k.proc.creds.permits(mode, owner, group, mask, real) ? 0 : -E.EACCES;
}

/**
 * openat(2) with the guest's filesystem ids: read and write as the access mode asks (O_TRUNC
 * writes), none for O_PATH; a file O_CREAT makes needs write and search on its directory.
 * 0 or -EACCES; the caller has resolved the path (pathAt) to `atDir` and `path`.
 */
export function mayOpen(k: Task, atDir: number, path: number, flags: number, follow: boolean) {
  if ((flags & O_PATH) !== 0 || k.proc.creds.filesAsHost(false)) return 0;
  const acc = flags & O_ACCMODE;
  let mask = acc === 0 ? MAY_READ : acc === 1 ? MAY_WRITE : MAY_READ | MAY_WRITE;
  if (flags & O_TRUNC) mask |= MAY_WRITE;
  const creating = (flags & O_CREAT) !== 0;
  // O_CREAT|O_EXCL of an existing file is EEXIST, whatever its mode (the host says so).
  if (creating && (flags & O_EXCL) !== 0) mask = 0;
  const r = check(k, atDir, path, follow, mask, false, true);
  if (r !== undefined || !creating) return r ?? 0;
  // A new file: its directory must be writable and searchable (may_o_create).
  const name = Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(BigInt(path))!);
  const slash = name.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : name.slice(0, slash);
  const d = check(
    k,
    atDir,
    k.rt.scratchString(dir, Slot.EXEC_PATH),
    true,
    MAY_WRITE | MAY_EXEC,
    false,
  );
  return d ?? 0;
}

/**
 * faccessat(2) with the guest's real ids, or its filesystem ids with AT_EACCESS (Linux's
 * access_override_creds). F_OK asks nothing of the mode. 0 or -EACCES.
 */
export function mayAccess(k: Task, atDir: number, path: number, mode: number, flags: number) {
  const real = (flags & AT_EACCESS) === 0;
  if (mode === 0 || k.proc.creds.filesAsHost(real)) return 0;
  return check(k, atDir, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, mode, real) ?? 0;
}
