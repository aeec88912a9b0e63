// The FUSE mount table of one elfuse process tree (docs/internals.md "Guest-internal FUSE").
//
// A tree is the elfuse process a user started and every host process it starts for the guest
// (fork children, spares, moved-out children): they inherit ELFUSE_TREE (the first one's pid,
// set by runProgram). The table is one 64 KiB file in the tree's private directory
// (/dev/shm/elfuse-fuse-<uid>/<tree>/table on Linux, directory mode 0700), mapped MAP_SHARED by every process that
// looks at it: a u32 generation, a u32 length, then the mounts as JSON. Writers take flock on it
// and bump the generation; readers re-parse only when the generation moved, so once mapped a
// path syscall pays one 4-byte load to learn whether any mount exists. The tree's first process
// makes the file as it starts (startTree), so the others find it at their first path syscall;
// it removes the directory as it ends (endTree). Nothing outside the tree can
// name the directory's table (it is keyed by the tree's pid and is 0700), and no host mount
// exists: only elfuse's path syscalls consult the table.
import { libc, mmapAddress } from "../../host/libc.ts";
import { errno as hostErrno } from "../../host/mod.ts";
import type { Runtime } from "../runtime.ts";
import { sendFrame } from "./transport.ts";

/** One mount, as /proc/mounts shows it plus how to reach its daemon. */
export interface FuseMount {
  /** Unique in the tree (st_dev's minor is 200 + id). */
  id: number;
  /** The mount point: a normalised absolute guest path. */
  target: string;
  source: string;
  /** "fuse" or "fuse.<subtype>". */
  fstype: string;
  /** The option string as /proc/mounts renders it (fd= left out, as Linux does). */
  options: string;
  /** The host path of the /dev/fuse description's datagram socket. */
  socket: string;
  rootmode: number;
  userId: number;
  groupId: number;
  /** max_read= (0: no limit) and the daemon's max_write (4096 until FUSE_INIT is answered). */
  maxRead: number;
  maxWrite: number;
  /** FUSE_INIT answered: the minor version and flags the daemon accepted. */
  minor: number;
  flags: number;
}

const TABLE_SIZE = 64 << 10;
const HEADER = 8;
const enc = new TextEncoder(), dec = new TextDecoder();
const LOCK_EX = 2, LOCK_UN = 8, F_OK = 0;
const HOST_AT_FDCWD = Deno.build.os === "darwin" ? -2 : -100;
const O_RDWR = 2, O_CREAT = Deno.build.os === "darwin" ? 0x200 : 0o100;
const O_CLOEXEC = Deno.build.os === "darwin" ? 0x1000000 : 0o2000000;

function cstr(s: string): Uint8Array {
  const b = enc.encode(s);
  const z = new Uint8Array(b.length + 1);
  z.set(b);
  return z;
}

function addr(b: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
}

/**
 * The tree's private directory: /dev/shm/elfuse-fuse-<uid>/<tree> on Linux (tmpfs: the table's
 * pages never go to disk), $TMPDIR (or /tmp)/elfuse-fuse-<uid>/<tree> elsewhere.
 */
export function treeDir(): string {
  const tmp = Deno.build.os === "linux" ? "/dev/shm" : Deno.env.get("TMPDIR") || "/tmp";
  const tree = Deno.env.get("ELFUSE_TREE") ?? String(Deno.pid);
  return `${tmp}/elfuse-fuse-${libc.getuid()}/${tree}`;
}

/** The mapped table of this tree. */
export class MountTable {
  readonly fd: number;
  readonly #u32: Uint32Array;
  readonly #bytes: Uint8Array;
  #gen = -1;
  #mounts: FuseMount[] = [];

  constructor(fd: number, base: number) {
    this.fd = fd;
    const buf = Deno.UnsafePointerView.getArrayBuffer(
      Deno.UnsafePointer.create(BigInt(base))!,
      TABLE_SIZE,
    );
    this.#u32 = new Uint32Array(buf, 0, 2);
    this.#bytes = new Uint8Array(buf);
  }

  /** Whether any mount exists (the hot path: one load). */
  empty(): boolean {
    return this.#u32[1] === 0;
  }

  /** The mounts, re-read when another process changed them. */
  mounts(): FuseMount[] {
    const gen = Atomics.load(this.#u32, 0);
    if (gen !== this.#gen) {
      const len = this.#u32[1];
      this.#mounts = len === 0
        ? []
        : JSON.parse(dec.decode(this.#bytes.slice(HEADER, HEADER + len))) as FuseMount[];
      this.#gen = gen;
    }
    return this.#mounts;
  }

  /** Changes the table under its lock; `edit` returns an errno to refuse (nothing written). */
  update(edit: (mounts: FuseMount[]) => number): number {
    libc.flock(this.fd, LOCK_EX);
    try {
      this.#gen = -1;
      const mounts = this.mounts().map((m) => ({ ...m }));
      const r = edit(mounts);
      if (r !== 0) return r;
      const text = mounts.length === 0 ? new Uint8Array(0) : enc.encode(JSON.stringify(mounts));
      if (HEADER + text.length > TABLE_SIZE) return 12; // ENOMEM: the table is full
      this.#bytes.set(text, HEADER);
      this.#u32[1] = text.length;
      Atomics.add(this.#u32, 0, 1);
      this.#gen = -1;
      return 0;
    } finally {
      libc.flock(this.fd, LOCK_UN);
    }
  }

  /** The mount whose target is `p` or contains it (the deepest), with the rest of the path. */
  find(p: string): [FuseMount, string] | undefined {
    let best: FuseMount | undefined;
    for (const m of this.mounts()) {
      if (p === m.target || p.startsWith(m.target === "/" ? "/" : m.target + "/")) {
        if (best === undefined || m.target.length > best.target.length) best = m;
      }
    }
    return best === undefined ? undefined : [best, p.slice(best.target.length)];
  }
}

/** What the runtime keeps about the tree's table (Runtime.fuse). */
export interface FuseRun {
  /** The table once the file exists and is mapped. */
  table: MountTable | undefined;
  /** The table file's path as a C string. */
  probe: Uint8Array;
  /** The table could not be opened: this process is in no tree, and never looks again. */
  absent: boolean;
}

function run(rt: Runtime): FuseRun {
  return rt.fuse ??= { table: undefined, probe: cstr(`${treeDir()}/table`), absent: false };
}

/** Maps the table file (creating it when `create`); undefined when it does not exist. */
function open(f: FuseRun, create: boolean): MountTable | undefined {
  if (f.table !== undefined) return f.table;
  if (create) {
    const dir = treeDir();
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const fd = libc.openat(
    HOST_AT_FDCWD,
    addr(f.probe),
    O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0),
    0o600,
  );
  if (fd < 0) return undefined;
  if (create) libc.ftruncate(fd, BigInt(TABLE_SIZE));
  const base = mmapAddress(libc.mmap(0, TABLE_SIZE, 3, 1, /* MAP_SHARED */ fd, 0n));
  if (base === -1 || base === 0) {
    libc.close(fd);
    return undefined;
  }
  f.table = new MountTable(fd, base);
  return f.table;
}

/**
 * The tree's table when it holds a mount, else undefined: what every path syscall asks first.
 * Costs one load once mapped, one access(2) before the file exists.
 */
export function activeMounts(rt: Runtime): MountTable | undefined {
  const f = rt.fuse ?? run(rt);
  let t = f.table;
  if (t === undefined) {
    // The tree's first process made the table at start (startTree): a process that cannot
    // open it belongs to no tree (a run without runProgram) and never looks again.
    if (f.absent) return undefined;
    t = open(f, false);
    if (t === undefined) {
      f.absent = true;
      return undefined;
    }
  }
  return t.empty() ? undefined : t;
}

/**
 * The tree's first process makes the (empty) table as it starts, so that every process of the
 * tree maps it at its first path syscall and then pays one load per path syscall to see whether
 * any mount exists, with no host call. Measured here: 0.5-1 ms once (mkdir, open, ftruncate,
 * mmap on tmpfs, most of it the first FFI calls), against an access(2) per path syscall for a
 * process that had to look for the file.
 */
export function startTree(rt: Runtime): void {
  mountTable(rt);
}

/** The tree's table, created if need be (mount). */
export function mountTable(rt: Runtime): MountTable | undefined {
  return open(run(rt), true);
}

/** The FUSE mounts as /proc/mounts lists them: [source, target, fstype, options]. */
export function fuseMountRows(rt: Runtime): [string, string, string, string][] {
  const f = run(rt);
  const t = f.table ??
    (libc.faccessat(HOST_AT_FDCWD, addr(f.probe), F_OK, 0) === 0 ? open(f, false) : undefined);
  if (t === undefined) return [];
  return t.mounts().map((m) => [m.source, m.target, m.fstype, m.options]);
}

/**
 * The tree's first process is ending: every daemon still serving a mount gets the unmounted
 * marker (its reads fail with ENODEV, so it ends as after umount) and the tree's directory goes.
 * Nothing outside the tree could reach those mounts, so nothing is left serving them.
 */
export function endTree(rt: Runtime): void {
  if (Deno.env.get("ELFUSE_TREE") !== String(Deno.pid)) return;
  const f = run(rt);
  if (f.table === undefined && libc.faccessat(HOST_AT_FDCWD, addr(f.probe), F_OK, 0) !== 0) return;
  const t = open(f, false);
  const marker = new Uint8Array(40);
  new DataView(marker.buffer).setUint32(0, 40, true);
  new DataView(marker.buffer).setUint32(4, 0xfffffffe, true); // device.ts UNMOUNTED
  const fd = libc.socket(1, /* AF_UNIX */ 2, /* SOCK_DGRAM */ 0);
  for (const m of t?.mounts() ?? []) if (fd >= 0) sendFrame(fd, m.socket, marker);
  if (fd >= 0) libc.close(fd);
  const dir = treeDir();
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* another tree process may be removing it too */ }
  removeStale(dir.slice(0, dir.lastIndexOf("/")));
}

/**
 * Removes the directories of trees whose first process is gone without ending them (killed by
 * SIGKILL, a --timeout watchdog's _exit): their table is 64 KiB of tmpfs each. At exit, where it
 * costs no start-up time.
 */
function removeStale(parent: string): void {
  const ESRCH = 3;
  try {
    for (const e of Deno.readDirSync(parent)) {
      const pid = Number(e.name);
      if (!e.isDirectory || !Number.isInteger(pid) || pid <= 0 || pid === Deno.pid) continue;
      if (libc.kill(pid, 0) === 0 || hostErrno() !== ESRCH) continue; // alive (or not ours)
      try {
        Deno.removeSync(`${parent}/${e.name}`, { recursive: true });
      } catch { /* removed by another process meanwhile */ }
    }
  } catch { /* no such directory: nothing stale */ }
}
