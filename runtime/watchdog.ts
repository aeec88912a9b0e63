// The --timeout watchdog: a Worker (its own thread) that ends the whole process when the
// wall-clock limit passes, even while the main thread is inside guest code or a blocking host
// call. It uses libc directly because the main thread may never return to the event loop.
// The guest's processes go too: cli.ts puts a marker in this elfuse's host environment, which
// every host process it starts inherits (pid holders, spares, children that moved out; the
// guest's own environment is separate and cannot drop it), so at the deadline every process
// carrying it is killed, orphans included, before elfuse exits.
/// <reference lib="deno.worker" />
import { processesWith } from "./host/proc_scan.ts";

const isLinux = Deno.build.os === "linux";
const libc = Deno.dlopen(isLinux ? "libc.so.6" : "/usr/lib/libSystem.B.dylib", {
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  _exit: { parameters: ["i32"], result: "void" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
});
const SIGKILL = 9;

/** The longest delay one timer takes: longer ones fire at once, with a TimeoutOverflowWarning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `then` once `ms` have passed, in as many timers as that takes. */
function after(ms: number, then: () => void): void {
  const deadline = Date.now() + ms;
  const wait = () => {
    const left = deadline - Date.now();
    if (left <= 0) then();
    else setTimeout(wait, Math.min(left, MAX_TIMER_MS));
  };
  wait();
}

self.onmessage = (e: MessageEvent<{ seconds: number; marker?: string }>) => {
  const { seconds, marker } = e.data;
  after(seconds * 1000, () => {
    if (isLinux && marker !== undefined) {
      // Twice: a process may fork while the first sweep runs.
      for (let sweep = 0; sweep < 2; sweep++) {
        // The marker is "ELFUSE_RUN=<pid>-<uuid>": no other process's environment holds it.
        for (const pid of processesWith("environ", marker)) {
          if (pid !== Deno.pid) libc.symbols.kill(pid, SIGKILL);
        }
      }
    }
    const msg = new TextEncoder().encode(`elfuse: timed out after ${seconds} s\n`);
    libc.symbols.write(2, msg, msg.length);
    libc.symbols._exit(124); // the exit status timeout(1) uses
  });
};
