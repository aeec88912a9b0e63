// The host process's user and group ids. elfuse never changes them (a guest's ids are emulated,
// kernel/credentials.ts), so they are read once per process: the guest's start from them.
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
