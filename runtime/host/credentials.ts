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

let groups: readonly number[] | undefined;

/** The host process's supplementary groups (read once, as its ids). */
export function hostGroups(): readonly number[] {
  if (groups !== undefined) return groups;
  const n = libc.getgroups(0, 0);
  const list = new Uint32Array(Math.max(n, 1));
  const got = n <= 0
    ? 0
    : libc.getgroups(n, Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(list))));
  return groups = [...list.subarray(0, Math.max(got, 0))];
}
