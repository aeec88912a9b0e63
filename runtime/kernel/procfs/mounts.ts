// The mount table the guest sees: /proc/mounts, /proc/PID/mounts and /proc/PID/mountinfo are all
// rendered from mountEntries(), the one list of mounts (guest FUSE mounts are to be added there).
// On a Linux host it is the host's table seen through the sysroot: the mount holding the sysroot
// is "/", mounts inside it appear at their guest paths, mounts the sysroot hides (below /usr,
// /etc, ... which always name the sysroot's files) are left out, and the rest (/proc, /dev, /sys,
// /tmp, the user's directories) stay where they are. No host path of the sysroot is shown.
import type { Sysroot } from "../../sysroot/resolve.ts";
import type { Task } from "../task.ts";
import { hostProcText } from "./host_proc.ts";
import { fuseMountRows } from "../fuse/mounts.ts";

/** One mount, with the fields of a mountinfo line (proc(5)). */
export interface MountEntry {
  id: number;
  parent: number;
  /** major:minor of the file system's device. */
  dev: string;
  /** The directory of the file system that is mounted here. */
  root: string;
  /** The mount point, as the guest names it (octal escapes as the kernel writes them). */
  target: string;
  /** Per-mount options (rw, nosuid, relatime, ...). */
  options: string;
  /** Optional fields (shared:N, master:N), space separated, possibly empty. */
  optional: string;
  fstype: string;
  source: string;
  /** Per-superblock options. */
  superOptions: string;
}

/** Guest path prefixes that always name the sysroot's files (docs/sysroot.md). */
const SYSROOT_ONLY = ["/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc"]
  .concat(["/var", "/opt"]);

const under = (p: string, dir: string) => p === dir || p.startsWith(dir === "/" ? "/" : dir + "/");

function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    const a = line.slice(0, dash).split(" "), b = line.slice(dash + 3).split(" ");
    out.push({
      id: Number(a[0]),
      parent: Number(a[1]),
      dev: a[2],
      root: a[3],
      target: a[4],
      options: a[5],
      optional: a.slice(6).join(" "),
      fstype: b[0],
      source: b[1],
      superOptions: b[2] ?? "",
    });
  }
  return out;
}

/** A host without /proc (macOS): the root and the views elfuse serves. */
function fallback(): MountEntry[] {
  const e = (id: number, target: string, fstype: string): MountEntry => ({
    id,
    parent: id === 1 ? 0 : 1,
    dev: "0:0",
    root: "/",
    target,
    options: "rw,relatime",
    optional: "",
    fstype,
    source: fstype === "rootfs" ? "rootfs" : fstype,
    superOptions: "rw",
  });
  return [e(1, "/", "rootfs"), e(2, "/proc", "proc"), e(3, "/dev", "devtmpfs")];
}

/** The guest's mount table, in the host's order (parents before children, as Linux lists). */
export function mountEntries(k: Task): MountEntry[] {
  const text = hostProcText("mountinfo");
  const base = text === "" ? fallback() : guestMounts(text, k.proc.info.sysroot);
  return base.concat(
    fuseMountRows(k.rt).map(([src, dst, fstype, opts], i) => fuseEntry(i, src, dst, fstype, opts)),
  );
}

/** Octal escapes of space, tab, newline and backslash, as Linux's mangle() writes them. */
const mangle = (s: string) =>
  s.replace(/[ \t\n\\]/g, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0"));
/** The options Linux shows per mount; the rest are the file system's (superblock) own. */
const MOUNT_OPTS = new Set(["rw", "ro", "nosuid", "nodev", "noexec", "relatime"]);

/** A guest FUSE mount (fuse/mounts.ts) as a mount table entry, under the root mount. */
function fuseEntry(i: number, src: string, dst: string, fstype: string, opts: string): MountEntry {
  const o = opts.split(",");
  return {
    id: 1000 + i,
    parent: 1,
    dev: `0:${200 + i}`,
    root: "/",
    target: mangle(dst),
    options: o.filter((x) => MOUNT_OPTS.has(x)).join(","),
    optional: "",
    fstype,
    source: mangle(src),
    superOptions: [o[0], ...o.filter((x) => !MOUNT_OPTS.has(x))].join(","),
  };
}

/** The host's mountinfo `text` as the guest sees it through `sr` (none: as it is). */
export function guestMounts(
  text: string,
  sr: Pick<Sysroot, "root" | "contains" | "guestPath"> | undefined,
): MountEntry[] {
  const host = parseMountinfo(text);
  if (sr === undefined) return host;
  // The mount holding the sysroot becomes "/": the deepest mount point above it.
  let rootMount: MountEntry | undefined;
  for (const m of host) {
    if (under(sr.root, m.target) && (!rootMount || m.target.length >= rootMount.target.length)) {
      rootMount = m;
    }
  }
  const out: MountEntry[] = [];
  for (const m of host) {
    if (m === rootMount) out.push({ ...m, target: "/", root: "/" });
    else if (sr.contains(m.target)) out.push({ ...m, target: sr.guestPath(m.target) });
    else if (m.target === "/" || SYSROOT_ONLY.some((d) => under(m.target, d))) continue;
    else out.push(m);
  }
  return out;
}

/** /proc/PID/mountinfo lines. */
export function renderMountinfo(list: MountEntry[]): string {
  return list.map((m) =>
    `${m.id} ${m.parent} ${m.dev} ${m.root} ${m.target} ${m.options}${
      m.optional ? " " + m.optional : ""
    } - ${m.fstype} ${m.source} ${m.superOptions}\n`
  ).join("");
}

/**
 * /proc/mounts lines: source, target, type, then the mount's options followed by the file
 * system's own (fs/proc_namespace.c show_vfsmnt: the superblock's rw/ro is the mount's).
 */
export function renderMounts(list: MountEntry[]): string {
  return list.map((m) => {
    const extra = m.superOptions.split(",").filter((o) => o !== "" && o !== "rw" && o !== "ro");
    const opts = [m.options, ...extra].join(",");
    return `${m.source} ${m.target} ${m.fstype} ${opts} 0 0\n`;
  }).join("");
}
