// The guest's vDSO (vdso/vdso.S): mapped read+execute where an mmap would go, like Linux's
// arch_setup_additional_pages, and announced with AT_SYSINFO_EHDR. Its CLOCK_MONOTONIC reads the
// generic timer without a syscall where the backend's CNTVCT_EL0 counts the host's CLOCK_MONOTONIC
// (Backend.monotonicCounter); elsewhere every function makes the syscall.
import type { AddressSpace } from "./memory/address_space.ts";
import { pageUp, PROT_EXEC, PROT_READ } from "./memory/vmas.ts";
import { vdsoFlagsOffset, vdsoImage } from "../vdso/vdso_bytes.ts";

/** Maps the vDSO image; returns its guest address (AT_SYSINFO_EHDR), or 0 when there is no room. */
export function mapVdso(as: AddressSpace, monotonicCounter: boolean): number {
  const len = pageUp(vdsoImage.length);
  const base = as.freeArea(len);
  if (base < 0) return 0;
  as.mapFixed(base, len, PROT_READ | PROT_EXEC, "[vdso]");
  as.slab.u8.set(vdsoImage, base);
  as.slab.view.setUint32(base + vdsoFlagsOffset, monotonicCounter ? 1 : 0, true);
  return base;
}
