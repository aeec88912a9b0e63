// The host-signal listener thread (see signal_router.ts). Deno delivers signals to listeners on an
// event loop, and the main thread's loop is blocked in guest code, so this Worker's loop listens:
// it records the signal in shared memory and kicks the main thread out of any blocking host call.
/// <reference lib="deno.worker" />

interface Setup {
  shared: SharedArrayBuffer;
  pid: number;
  mainTid: number;
  kick: number;
}
type Message = { setup: Setup } | { listen: string };

let flags: Int32Array;
let setup: Setup;
let libc: Deno.DynamicLibrary<
  { syscall: { parameters: ["i64", "i64", "i64", "i64"]; result: "i64" } }
>;
const SYS_tgkill = Deno.build.arch === "x86_64" ? 234n : 131n;
const listening = new Set<string>();

self.onmessage = (e: MessageEvent<Message>) => {
  const m = e.data;
  if ("setup" in m) {
    setup = m.setup;
    flags = new Int32Array(setup.shared);
    libc = Deno.dlopen("libc.so.6", {
      syscall: { parameters: ["i64", "i64", "i64", "i64"], result: "i64" },
    });
    return;
  }
  const name = m.listen as Deno.Signal;
  if (listening.has(name)) return;
  listening.add(name);
  Deno.addSignalListener(name, () => {
    const n = signalNumbers[name];
    Atomics.or(flags, n <= 32 ? 1 : 2, 1 << ((n - 1) % 32));
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    libc.symbols.syscall(SYS_tgkill, BigInt(setup.pid), BigInt(setup.mainTid), BigInt(setup.kick));
  });
};

const signalNumbers: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
};
