// Guest file descriptors: a table over host fds. Guest numbers are the guest's own (lowest free
// first, as POSIX requires); the runtime's own host fds never appear in it, so the guest can
// neither see nor close them. FD_CLOEXEC is per descriptor, so it lives here; status flags
// (O_APPEND, O_NONBLOCK) live in the host's open file description, shared by dups as on Linux.
//
// A guest fd refers to an open file description. Most are the host's own (a file, pipe, socket,
// epoll set, eventfd, timerfd, inotify instance): the entry holds a host fd and nothing else, and
// read/write/poll/close/dup/fork/exec are host calls. A description elfuse emulates (signalfd)
// hangs on the entry as `file`, shared by every dup of it; the entry's host fd then stands for
// it in poll and epoll (the description keeps it readable exactly when a read would not block),
// and read/write go to the description. docs/internals.md "Files, sockets and event objects".
import { libc } from "../host/libc.ts";
import type { Process } from "./process.ts";
import type { Task } from "./task.ts";

/** An open file description elfuse emulates (shared by dups, counted by `refs`). */
export interface Description {
  /** What it is, for /proc and --strace ("signalfd"). */
  readonly kind: string;
  /** Guest fds (in any process of this elfuse) that refer to it. */
  refs: number;
  /** read(2) into guest memory at `buf` (checked writable): bytes, -errno, or a wait. */
  read(k: Task, e: FdEntry, buf: number, len: number): number;
  /** A new host fd that stands for it in poll and epoll (a fork child's entries get these). */
  standIn(): number;
  /** A fork child keeps the inherited host fd instead of a stand-in (it is the description's). */
  readonly keepsHostFd?: boolean;
  /** The process's pending signals changed (signalfd's readiness follows them). */
  signalsChanged?(proc: Process): void;
  /** What a host-process fork child needs to rebuild it (kernel/fork.ts), as JSON. */
  save(): DescriptionState;
  /** The last guest fd referring to it closed: free what it holds. */
  release(): void;
}

/** A description as a fork child receives it: its kind and its kind's own fields. */
export interface DescriptionState {
  kind: string;
  [field: string]: unknown;
}

export interface FdEntry {
  hostFd: number;
  cloexec: boolean;
  /** The guest path it was opened with, for /proc/self/fd and --strace ("" when unknown). */
  path: string;
  /** The emulated description it refers to; undefined for the host's own (the usual case). */
  file: Description | undefined;
}

export class FdTable {
  readonly entries: (FdEntry | undefined)[] = [];
  /** RLIMIT_NOFILE's soft limit: the first guest fd number that cannot be allocated. */
  limit = 1024;
  /** How many entries refer to emulated descriptions (0: nothing to tell about signals). */
  emulated = 0;

  get(fd: number): FdEntry | undefined {
    return fd >= 0 ? this.entries[fd] : undefined;
  }

  /** Lowest free guest fd >= min, or -1 when the table is full. */
  lowestFree(min = 0): number {
    for (let fd = min; fd < this.limit; fd++) if (this.entries[fd] === undefined) return fd;
    return -1;
  }

  /** Puts `entry` at `fd` (which must be free); the entry's description gains a reference. */
  set(fd: number, entry: FdEntry): void {
    this.entries[fd] = entry;
    if (entry.file !== undefined) {
      entry.file.refs++;
      this.emulated++;
    }
  }

  /** Removes the guest fd; returns its entry for the caller to close (closeEntry). */
  take(fd: number): FdEntry | undefined {
    const e = this.get(fd);
    if (e !== undefined) {
      this.entries[fd] = undefined;
      if (e.file !== undefined) this.emulated--;
    }
    return e;
  }

  /** The guest fds in use, lowest first. */
  open(): number[] {
    const out: number[] = [];
    this.entries.forEach((e, i) => e !== undefined && out.push(i));
    return out;
  }

  /** Removes and closes guest fd `fd`; the host close's result (0, or -1 with errno set). */
  close(fd: number): number {
    const e = this.take(fd);
    return e === undefined ? 0 : closeEntry(e);
  }
}

/** Closes a taken entry's host fd and drops its reference to an emulated description. */
export function closeEntry(e: FdEntry): number {
  const r = libc.close(e.hostFd);
  if (e.file !== undefined && --e.file.refs === 0) e.file.release();
  return r;
}

/** A new entry for host fd `hostFd` that refers to what `e` refers to (dup, fork). */
export function dupEntry(e: FdEntry, hostFd: number, cloexec: boolean): FdEntry {
  return { hostFd, cloexec, path: e.path, file: e.file };
}
