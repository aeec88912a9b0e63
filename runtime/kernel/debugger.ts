// What the kernel's run loop asks of an attached debugger (the GDB stub, runtime/gdb/, loaded only
// under --gdb). The kernel knows only this shape, so it never imports the stub.
import type { Exit, SyscallHandler } from "../backends/backend.ts";
import type { ExitStatus } from "./process.ts";

export interface Debugger {
  /**
   * Runs the guest in place of Vcpu.run: continues or single-steps as the debugger asked, and
   * serves the debugger at its stops (breakpoints, steps, Ctrl-C) before returning
   * `{ kind: "interrupted" }`, so that the kernel takes host signals and runs on. Other exits
   * (faults, the end of the process) go to the kernel as they are.
   */
  run(onSyscall: SyscallHandler): Promise<Exit>;
  /**
   * The guest took a fault that raises `sig`: stop and let the debugger decide. Returns the
   * signal to deliver (0: none, the faulting instruction runs again when resumed).
   */
  signalled(sig: number): Promise<number>;
  /**
   * Runs `f` (a fork taking a copy of guest memory) with memory as the program has it: the
   * breakpoints the debugger wrote into code are taken out meanwhile, so a fork child, which runs
   * without the debugger, never meets one.
   */
  withoutBreakpoints<T>(f: () => T): T;
  /** The process ended: tell the debugger (W or X) and close. */
  exited(status: ExitStatus): Promise<void>;
}
