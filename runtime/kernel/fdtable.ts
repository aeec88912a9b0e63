// Guest file descriptors: a table over host fds. Guest numbers are the guest's own (lowest free
// first, as POSIX requires); the runtime's own host fds never appear in it, so the guest can
// neither see nor close them. FD_CLOEXEC is per descriptor, so it lives here; status flags
// (O_APPEND, O_NONBLOCK) live in the host's open file description, shared by dups as on Linux.

export interface FdEntry {
  hostFd: number;
  cloexec: boolean;
  /** The guest path it was opened with, for /proc/self/fd and --strace ("" when unknown). */
  path: string;
}

export class FdTable {
  readonly entries: (FdEntry | undefined)[] = [];
  /** RLIMIT_NOFILE's soft limit: the first guest fd number that cannot be allocated. */
  limit = 1024;

  get(fd: number): FdEntry | undefined {
    return fd >= 0 ? this.entries[fd] : undefined;
  }

  /** Lowest free guest fd >= min, or -1 when the table is full. */
  lowestFree(min = 0): number {
    for (let fd = min; fd < this.limit; fd++) if (this.entries[fd] === undefined) return fd;
    return -1;
  }

  set(fd: number, entry: FdEntry): void {
    this.entries[fd] = entry;
  }

  /** Removes the guest fd; returns its entry for the caller to close the host fd. */
  take(fd: number): FdEntry | undefined {
    const e = this.get(fd);
    if (e !== undefined) this.entries[fd] = undefined;
    return e;
  }

  /** How many guest fds refer to this host fd (dups get their own host fds, so 0 or 1). */
  open(): number[] {
    const out: number[] = [];
    this.entries.forEach((e, i) => e !== undefined && out.push(i));
    return out;
  }
}
