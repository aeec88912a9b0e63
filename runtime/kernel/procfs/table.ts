// The one table of files elfuse renders under /proc. Everything else under /proc is the host's
// (the guest's own fd, fdinfo and task directories are listed by fd_dir.ts; paths.ts routes).
import type { Task } from "../task.ts";
import * as mem from "./memory_files.ts";
import * as p from "./process_files.ts";
import type { Subject } from "./process_files.ts";
import * as sys from "./system_files.ts";
import { mountEntries, renderMountinfo, renderMounts } from "./mounts.ts";
import { netTable } from "./net.ts";

export type Rendered = string | Uint8Array;

/**
 * Files of /proc/PID, by the path after it; the same under /proc/PID/task/TID, where the subject
 * is that thread (its name, state, signal mask) instead of the process's leader.
 */
export const processFiles: Record<string, (s: Subject) => Rendered> = {
  "/auxv": p.auxv,
  "/cmdline": p.cmdline,
  "/comm": p.commFile,
  "/environ": p.environ,
  "/io": p.io,
  "/limits": p.limits,
  "/maps": ({ k }) => mem.maps(k),
  "/mountinfo": ({ k }) => renderMountinfo(mountEntries(k)),
  "/mounts": ({ k }) => renderMounts(mountEntries(k)),
  "/smaps": ({ k }) => mem.smaps(k),
  "/smaps_rollup": ({ k }) => mem.smapsRollup(k),
  "/stat": p.stat,
  "/statm": ({ k }) => mem.statm(k),
  "/status": p.status,
  "/net/tcp": netTable("tcp"),
  "/net/tcp6": netTable("tcp6"),
  "/net/udp": netTable("udp"),
  "/net/udp6": netTable("udp6"),
  "/net/unix": netTable("unix"),
};

interface SystemFile {
  render: (k: Task) => Rendered;
  /** On a Linux host the host's own file is the guest's: rendered only elsewhere. */
  hostOnLinux?: boolean;
}

/** Files under /proc that are not about one process, by their path. */
export const systemFiles: Record<string, SystemFile> = {
  "/proc/cpuinfo": { render: sys.cpuinfo },
  "/proc/version": { render: sys.version },
  "/proc/mounts": { render: (k) => renderMounts(mountEntries(k)) },
  "/proc/meminfo": { render: sys.meminfo, hostOnLinux: true },
  "/proc/stat": { render: sys.stat, hostOnLinux: true },
  "/proc/uptime": { render: sys.uptime, hostOnLinux: true },
  "/proc/loadavg": { render: sys.loadavg, hostOnLinux: true },
  "/proc/filesystems": { render: sys.filesystems, hostOnLinux: true },
  "/proc/sys/kernel/osrelease": { render: sys.osrelease, hostOnLinux: true },
  "/proc/sys/kernel/ostype": { render: sys.ostype, hostOnLinux: true },
  "/proc/sys/kernel/pid_max": { render: sys.pidMax, hostOnLinux: true },
  "/proc/sys/kernel/random/uuid": { render: sys.uuid, hostOnLinux: true },
  "/proc/sys/kernel/random/boot_id": { render: sys.uuid, hostOnLinux: true },
  "/proc/sys/vm/overcommit_memory": { render: sys.overcommit, hostOnLinux: true },
  "/proc/sys/vm/max_map_count": { render: sys.maxMapCount, hostOnLinux: true },
};
