// The host kernel's own numbers for the calls elfuse makes raw (libc has no wrapper for them, or
// not on every glibc): x86_64's from arch/x86/entry/syscalls/syscall_64.tbl, aarch64's from
// include/uapi/asm-generic/unistd.h. Meaningful on Linux hosts only; callers check the OS.
const numbers = {
  x86_64: {
    rt_sigqueueinfo: 129n,
    tgkill: 234n,
    ioprio_set: 251n,
    ioprio_get: 252n,
    mknodat: 259n,
    membarrier: 324n,
  },
  aarch64: {
    ioprio_set: 30n,
    ioprio_get: 31n,
    mknodat: 33n,
    tgkill: 131n,
    rt_sigqueueinfo: 138n,
    membarrier: 283n,
  },
} as const;

/** A raw host syscall elfuse makes. */
export type HostSyscall = keyof typeof numbers.x86_64;

/** The host's number for `name`, or undefined on an architecture elfuse does not know. */
export function hostSyscallNumber(name: HostSyscall): bigint | undefined {
  const arch = Deno.build.arch as string;
  return arch === "x86_64" || arch === "aarch64" ? numbers[arch][name] : undefined;
}
