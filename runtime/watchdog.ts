// The --timeout watchdog: a Worker (its own thread) that ends the whole process when the
// wall-clock limit passes, even while the main thread is inside guest code or a blocking host
// call. It uses libc directly because the main thread may never return to the event loop.
/// <reference lib="deno.worker" />

const libc = Deno.dlopen(Deno.build.os === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6", {
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  _exit: { parameters: ["i32"], result: "void" },
});

self.onmessage = (e: MessageEvent<{ seconds: number }>) => {
  const { seconds } = e.data;
  setTimeout(() => {
    const msg = new TextEncoder().encode(`elfuse: timed out after ${seconds} s\n`);
    libc.symbols.write(2, msg, msg.length);
    libc.symbols._exit(124); // the exit status timeout(1) uses
  }, seconds * 1000);
};
