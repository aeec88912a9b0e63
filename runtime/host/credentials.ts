// The host process's user and group ids. elfuse never changes them (setuid and friends accept only
// ids the process already has, kernel/syscalls/system.ts), so they are read once per process and
// getuid, geteuid, getgid and getegid make no host call.
import { libc } from "./libc.ts";

export interface HostIds {
  readonly uid: number;
  readonly euid: number;
  readonly gid: number;
  readonly egid: number;
}

let ids: HostIds | undefined;

export function hostIds(): HostIds {
  return ids ??= {
    uid: libc.getuid(),
    euid: libc.geteuid(),
    gid: libc.getgid(),
    egid: libc.getegid(),
  };
}
