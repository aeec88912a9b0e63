// The --timeout watchdog: a Worker (its own thread) that ends the whole process when the
// wall-clock limit passes, even while the main thread is inside guest code or a blocking host
// call. It uses libc directly because the main thread may never return to the event loop.
// The guest's processes go too: cli.ts puts a marker in this elfuse's host environment, which
// every host process it starts inherits (pid holders, spares, children that moved out; the
// guest's own environment is separate and cannot drop it), so at the deadline every process
// carrying it is killed, orphans included, before elfuse exits.
/// <reference lib="deno.worker" />

const isLinux = Deno.build.os === "linux";
const libc = Deno.dlopen(isLinux ? "libc.so.6" : "/usr/lib/libSystem.B.dylib", {
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  _exit: { parameters: ["i32"], result: "void" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
});
const SIGKILL = 9;

/** Processes (Linux /proc) whose initial environment holds `entry` ("KEY=VALUE"). */
export function processesWithEnv(entry: string): number[] {
  const found: number[] = [];
  const needle = new TextEncoder().encode(`\0${entry}\0`);
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = Deno.readFileSync(`/proc/${e.name}/environ`);
      const all = new Uint8Array(env.length + 1);
      all.set(env, 1); // a leading NUL so the first entry matches like the others
      if (indexOf(all, needle) >= 0) found.push(Number(e.name));
    } catch { /* exited meanwhile, or not ours */ }
  }
  return found;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

self.onmessage = (e: MessageEvent<{ seconds: number; marker?: string }>) => {
  const { seconds, marker } = e.data;
  setTimeout(() => {
    if (isLinux && marker !== undefined) {
      // Twice: a process may fork while the first sweep runs.
      for (let sweep = 0; sweep < 2; sweep++) {
        for (const pid of processesWithEnv(marker)) {
          if (pid !== Deno.pid) libc.symbols.kill(pid, SIGKILL);
        }
      }
    }
    const msg = new TextEncoder().encode(`elfuse: timed out after ${seconds} s\n`);
    libc.symbols.write(2, msg, msg.length);
    libc.symbols._exit(124); // the exit status timeout(1) uses
  }, seconds * 1000);
};
