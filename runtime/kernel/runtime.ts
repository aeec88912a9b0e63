// Run-wide state: one Runtime per elfuse host process, shared by every guest process it runs
// (an in-process fork child runs on its parent's): how elfuse was run, what the backend offers,
// diagnostics, and the scratch memory handlers build host structs in.
import { libc, Scratch } from "../host/libc.ts";
import { SCRATCH_SIZE, Slot } from "./scratch.ts";
import type { ElfImage } from "../elf/parse.ts";
import type { KickTimer } from "../host/kick_timer.ts";
import type { X86Settings } from "../x86/translator.ts";
import type { FuseRun } from "./fuse/mounts.ts";
import type { XnuIpc } from "../host/darwin_ipc.ts";
import type { SignatureLookup } from "../x86/vz_signature.ts";
import type { RosettadBridge } from "../x86/rosettad_bridge.ts";

/** How this elfuse was run, for the processes a guest fork starts (and execve's x86-64 programs). */
export interface RuntimeOptions extends X86Settings {
  backend: string;
  strace?: boolean;
  verbose?: boolean;
}

const enc = new TextEncoder();

export class Runtime {
  /**
   * Host memory for host-side structs (iovec arrays, statx buffers, pollfds, path copies). Handlers
   * run one at a time on this host thread and never keep scratch contents past their return, so
   * one area serves every task; its slots are declared in scratch.ts.
   */
  readonly scratch = new Scratch(SCRATCH_SIZE);
  options: RuntimeOptions = { backend: "unicorn" };
  verbose = false;
  /** Prints one diagnostic line on stderr (used under -v). */
  note: (msg: string) => void = () => {};
  /** Called for a syscall number with no handler (logs once under -v). */
  onUnknown: (nr: number) => void = () => {};
  /** AT_HWCAP/AT_HWCAP2 of the backend, for images built by execve. */
  hwcap = 0;
  hwcap2 = 0;
  /** MIDR_EL1 of the backend's CPU (Backend.midr), for /proc/cpuinfo. */
  midr = 0;
  /** The run's directory of guest process cards (procfs/registry.ts); "" none, undefined unknown. */
  registry: string | undefined;
  /** This elfuse made that directory (it removes it when its own guest ends). */
  ownsRegistry = false;
  /** macOS's System V calls, bound at the first (syscalls/sysv_ipc_xnu.ts). */
  xnuIpc: XnuIpc | undefined;
  /** CNTFRQ_EL0 of the backend (Backend.counterHz), for /proc/cpuinfo. */
  counterHz = 0;
  /** For the vDSO of images built by execve (Backend.monotonicCounter). */
  monotonicCounter = false;
  #hostLimits: [number, number][] | undefined;
  /**
   * Programs execve read lately, by file identity and version (syscalls/exec.ts): a shell execs
   * the same few programs over and over.
   */
  readonly programs = new Map<string, { elf: ElfImage }>();
  /** Whether fork children may run in this process first (inline_fork.ts), once decided. */
  inlineForks: boolean | undefined;
  /** The timer that kicks this thread while an in-process child runs (inline_fork.ts). */
  kickTimer: KickTimer | undefined;
  /**
   * Apple's VZ signature for Rosetta's CHECK ioctl, once looked up on this host (never stored:
   * x86/vz_signature.ts).
   */
  vzSignature: SignatureLookup | undefined;
  /** The rosettad bridge, once Rosetta connected to it (x86/rosettad_bridge.ts). */
  rosettad: RosettadBridge | undefined;
  /** The process tree's FUSE mount table, once looked for (fuse/mounts.ts). */
  fuse: FuseRun | undefined;
  #pidMax = 0;

  /** The host's highest pid (/proc/sys/kernel/pid_max; macOS: 99999): thread ids start above. */
  pidMax(): number {
    if (this.#pidMax === 0) {
      try {
        this.#pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max").trim()) || 4194304;
      } catch {
        this.#pidMax = Deno.build.os === "darwin" ? 99999 : 4194304;
      }
    }
    return this.#pidMax;
  }

  /** Copies a JS string into scratch memory as a C string; returns its host address. */
  scratchString(s: string, offset: number = Slot.STRING): number {
    const r = enc.encodeInto(s, this.scratch.u8.subarray(offset, offset + 8191));
    this.scratch.u8[offset + r.written] = 0;
    return this.scratch.address + offset;
  }

  /** A host timespec in scratch memory. */
  scratchTimespec(sec: number, nsec: number): number {
    this.scratch.view.setBigInt64(Slot.TIMESPEC, BigInt(sec), true);
    this.scratch.view.setBigInt64(Slot.TIMESPEC + 8, BigInt(nsec), true);
    return this.scratch.address + Slot.TIMESPEC;
  }

  /**
   * RLIMIT_* defaults for a new process: the host's own limits where it has them (RLIMIT_NOFILE
   * capped at 1024), read once per host process.
   */
  defaultRlimits(): [number, number][] {
    if (this.#hostLimits === undefined) {
      const out: [number, number][] = [];
      const s = this.scratch;
      for (let r = 0; r < 16; r++) {
        const ok = libc.getrlimit(r, s.address + Slot.RLIMIT) === 0;
        const soft = s.view.getBigUint64(Slot.RLIMIT, true);
        const hard = s.view.getBigUint64(Slot.RLIMIT + 8, true);
        const num = (x: bigint) => (x >= 0x7fff_ffff_ffff_ffffn ? Infinity : Number(x));
        out.push(ok ? [num(soft), num(hard)] : [Infinity, Infinity]);
      }
      out[7] = [Math.min(out[7][0], 1024), out[7][1]]; // RLIMIT_NOFILE
      this.#hostLimits = out;
    }
    return this.#hostLimits.map(([s, h]) => [s, h]);
  }
}
