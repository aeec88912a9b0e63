// Rebuilding emulated descriptions (fdtable.ts) in a host-process fork child, by kind. Loaded
// only by a child whose parent had one.
import type { Description, DescriptionState } from "./fdtable.ts";
import { restoreSignalfd } from "./syscalls/signalfd.ts";
import { restoreFuseDevice } from "./fuse/device.ts";
import { restoreFuseFile } from "./fuse/vfs.ts";

const restorers: Record<string, (s: DescriptionState) => Description> = {
  signalfd: restoreSignalfd,
  "fuse-device": restoreFuseDevice,
  fuse: restoreFuseFile,
};

/** Each saved description rebuilt, in order. */
export function restoreDescriptions(saved: DescriptionState[]): Description[] {
  return saved.map((s) => {
    const restore = restorers[s.kind];
    if (restore === undefined) throw new Error(`fork child: no way to rebuild a ${s.kind}`);
    return restore(s);
  });
}
