// Where libunicorn is looked for, and loading it on a background thread early. dlopen of the
// 19.5 MB library takes 7-8 ms (relocating its data), as long as the rest of elfuse's start-up
// after the command line is parsed; glibc's dlopen holds the loader lock, so the backend's own
// Deno.dlopen later waits for it if needed and then only counts a reference.

/**
 * Where libunicorn is looked for, in order (docs/usage.md): $ELFUSE_LIBUNICORN alone when set;
 * else next to the executable (a compiled elfuse) and next to the main module (a bundle), the
 * project's .tools (a source checkout), then the system's library path.
 */
export function libunicornCandidates(): string[] {
  const env = Deno.env.get("ELFUSE_LIBUNICORN");
  if (env) return [env];
  const name = Deno.build.os === "darwin" ? "libunicorn.2.dylib" : "libunicorn.so.2";
  const out: string[] = [];
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/") + 1);
  const exe = Deno.execPath();
  if (!/\/deno(\.exe)?$/.test(exe)) out.push(dirOf(exe) + name);
  if (Deno.mainModule.startsWith("file:")) {
    out.push(dirOf(decodeURIComponent(new URL(Deno.mainModule).pathname)) + name);
  }
  const here = new URL("../../../.tools/unicorn/sid/usr/lib/", import.meta.url);
  if (here.protocol === "file:") {
    const triplet = Deno.build.arch === "aarch64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
    out.push(decodeURIComponent(new URL(`${triplet}/libunicorn.so.2`, here).pathname));
  }
  if (Deno.build.os === "darwin") {
    out.push("/opt/homebrew/lib/libunicorn.2.dylib", "/usr/local/lib/libunicorn.2.dylib");
  } else {
    out.push("libunicorn.so.2");
  }
  return [...new Set(out)];
}

/** The first candidate that is there (a bare name, left to the loader's search, counts). */
export function firstLibunicorn(): string {
  const all = libunicornCandidates();
  for (const c of all) {
    if (!c.includes("/")) return c;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch { /* not here */ }
  }
  return all[0];
}

const RTLD_LAZY = 1; // what Deno.dlopen passes, so both calls name the same load
let started: Promise<unknown> | undefined;

/**
 * Starts dlopen of the first candidate on a thread of Deno's blocking pool (Linux only). Returns
 * the pending call (it resolves to the handle or null); nobody needs to wait for it.
 */
export function preloadUnicorn(): Promise<unknown> | undefined {
  if (started || Deno.build.os !== "linux") return started;
  try {
    const { symbols } = Deno.dlopen("libc.so.6", {
      dlopen: { parameters: ["buffer", "i32"], result: "pointer", nonblocking: true },
    });
    const path = new TextEncoder().encode(firstLibunicorn() + "\0");
    // A failure (NULL) is left to the backend, which tries every candidate and reports them.
    started = symbols.dlopen(path, RTLD_LAZY).catch(() => null);
  } catch {
    // No libc.so.6 by that name: the backend loads the library itself.
  }
  return started;
}
