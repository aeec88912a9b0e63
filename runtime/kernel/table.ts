// The declarative syscall table for Linux aarch64: every number the kernel defines, each with
// its handler and status. Numbers without a row answer ENOSYS. docs/syscalls.md is generated
// from this table (tools/gen_syscall_docs.ts) and a test fails when it is stale.
import { aarch64SyscallNames } from "./aarch64_numbers.ts";
import { E } from "./errno.ts";
import type { SyscallDef, SyscallHandler, SyscallStatus } from "./syscall_def.ts";
import { fdSyscalls } from "./syscalls/fd.ts";
import { execSyscalls } from "./syscalls/exec.ts";
import { processSyscalls } from "./syscalls/process.ts";
import { fileSyscalls } from "./syscalls/files.ts";
import { futexSyscalls } from "./syscalls/futex.ts";
import { xattrSyscalls } from "./syscalls/xattr.ts";
import { ioSyscalls } from "./syscalls/io.ts";
import { memorySyscalls } from "./syscalls/memory.ts";
import { mlockSyscalls } from "./syscalls/mlock.ts";
import { pollSyscalls } from "./syscalls/poll.ts";
import { signalSyscalls } from "./syscalls/signal.ts";
import { systemSyscalls } from "./syscalls/system.ts";
import { timeSyscalls } from "./syscalls/time.ts";
import { timerSyscalls } from "./syscalls/timer.ts";
import { threadSyscalls } from "./syscalls/thread.ts";
import { eventSyscalls } from "./syscalls/event.ts";
import { signalfdSyscalls } from "./syscalls/signalfd.ts";
import { socketSyscalls } from "./syscalls/socket.ts";
import { fuseSyscalls, withFuseRoutes } from "./fuse/syscalls.ts";
import { sysvIpcSyscalls } from "./syscalls/sysv_ipc.ts";
import { mqueueSyscalls } from "./syscalls/mqueue.ts";

/** Every family's rows, in the order docs list them. */
export const families: Record<string, SyscallDef[]> = {
  "files and descriptors": fdSyscalls,
  "reading and writing": ioSyscalls,
  "metadata, names and directories": fileSyscalls,
  "extended attributes": xattrSyscalls,
  polling: pollSyscalls,
  sockets: socketSyscalls,
  "event objects": [...eventSyscalls, ...signalfdSyscalls],
  memory: [...memorySyscalls, ...mlockSyscalls],
  futex: futexSyscalls,
  time: timeSyscalls,
  "POSIX timers": timerSyscalls,
  "identity, limits and system": systemSyscalls,
  signals: signalSyscalls,
  "programs and processes": [...execSyscalls, ...processSyscalls],
  threads: threadSyscalls,
  "mounts (guest-internal FUSE)": fuseSyscalls,
  "System V IPC": sysvIpcSyscalls,
  "POSIX message queues": mqueueSyscalls,
};

export interface TableRow {
  nr: number;
  name: string;
  family: string;
  status: SyscallStatus | "missing";
  note: string;
  def?: SyscallDef;
}

const numberOf = new Map(
  Object.entries(aarch64SyscallNames).map(([nr, name]) => [name, Number(nr)]),
);

/** All rows, by number; throws if a family names a syscall aarch64 does not have. */
export function tableRows(): TableRow[] {
  const rows = new Map<number, TableRow>();
  for (const [family, defs] of Object.entries(families)) {
    for (const def of defs) {
      const nr = numberOf.get(def.name);
      if (nr === undefined) {
        throw new Error(`syscall table: aarch64 has no syscall named ${def.name}`);
      }
      if (rows.has(nr)) throw new Error(`syscall table: ${def.name} is listed twice`);
      const status = def.status ?? (def.errno ? "errno" : "supported");
      rows.set(nr, { nr, name: def.name, family, status, note: def.note ?? "", def });
    }
  }
  for (const [nr, name] of Object.entries(aarch64SyscallNames)) {
    const n = Number(nr);
    if (!rows.has(n)) rows.set(n, { nr: n, name, family: "", status: "missing", note: "" });
  }
  return [...rows.values()].sort((a, b) => a.nr - b.nr);
}

/** The dispatch array: handler by syscall number (undefined answers ENOSYS). */
export function handlerTable(rows = tableRows()): (SyscallHandler | undefined)[] {
  const out: (SyscallHandler | undefined)[] = new Array(512).fill(undefined);
  for (const r of rows) {
    const def = r.def;
    if (def === undefined) continue;
    if (def.handler) out[r.nr] = def.handler;
    else if (def.errno) {
      const code = (E as Record<string, number>)[def.errno];
      out[r.nr] = () => -code;
    }
  }
  // Path and fd syscalls under a FUSE mount go to its daemon first (fuse/syscalls.ts).
  withFuseRoutes((name) => out[numberOf.get(name)!], (name, h) => out[numberOf.get(name)!] = h);
  return out;
}
