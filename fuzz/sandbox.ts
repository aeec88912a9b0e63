// Running elfuse on fuzzed input without risk to the machine it runs on: a temporary directory
// as the guest's working directory, a pipe as its stdin (never the real /dev/null: a fuzzed
// fchmod on fd 0 as root once changed the host's /dev/null), pipes as stdout and stderr, a
// session of its own, and, when run as root, an unprivileged user (nobody), so that a guest
// that escapes every other rule still cannot change what it does not own. Every host process a
// run starts inherits an environment marker, so strays are found and ended afterwards.
import { processesWith } from "../runtime/host/proc_scan.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
/** The unprivileged user a root campaign runs its guests as (Debian's nobody/nogroup). */
const NOBODY = 65534;
const MARKER_KEY = "ELFUSE_FUZZ_RUN";

export interface Sandbox {
  /** The campaign's temporary directory; each run gets a fresh subdirectory. */
  readonly dir: string;
  /** Whether guests run as nobody (the campaign was started as root). */
  readonly unprivileged: boolean;
  /** Makes a fresh, empty working directory for one run. */
  workdir(name: string): string;
  /** Runs `deno run -A cli.ts ...elfuseArgs` in `cwd`; see RunResult. */
  run(opts: RunOptions): Promise<RunResult>;
  /** Removes the temporary directory. */
  close(): void;
}

export interface RunOptions {
  /** Arguments of elfuse (options, program, its arguments). */
  elfuseArgs: string[];
  cwd: string;
  /** Wall-clock limit for the run; the run is killed (with its processes) after it. */
  timeoutMs: number;
  /** Bytes the guest reads from its stdin pipe. */
  stdin?: Uint8Array;
  env?: Record<string, string>;
}

export interface RunResult {
  /** Exit code, or undefined when killed by a signal. */
  code: number | undefined;
  signal: Deno.Signal | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Host processes of this run still alive after it ended (they have been killed). */
  strays: number[];
  /** The most resident memory its processes were seen to hold together (sampled). */
  peakBytes: number;
  ms: number;
}

const hasCommand = (name: string) => {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not there
    }
  }
  return undefined;
};

export function openSandbox(): Sandbox {
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-fuzz-" });
  const setpriv = hasCommand("setpriv");
  const setsid = hasCommand("setsid");
  const unprivileged = Deno.uid() === 0 && setpriv !== undefined;
  if (Deno.uid() === 0 && !unprivileged) {
    throw new Error("fuzz: running as root needs setpriv (util-linux) to drop to nobody");
  }
  // Deno needs a cache directory of its own for the unprivileged user.
  const denoDir = `${dir}/deno`;
  Deno.mkdirSync(denoDir);
  if (unprivileged) Deno.chownSync(dir, NOBODY, NOBODY), Deno.chownSync(denoDir, NOBODY, NOBODY);
  let runs = 0;
  const live = new Set<string>();
  return {
    dir,
    unprivileged,
    workdir(name: string): string {
      const w = `${dir}/${name}-${runs++}`;
      Deno.mkdirSync(w);
      if (unprivileged) Deno.chownSync(w, NOBODY, NOBODY);
      return w;
    },
    run: (opts) =>
      runOne(opts, { setpriv: unprivileged ? setpriv : undefined, setsid, denoDir, live }),
    close() {
      for (const marker of live) killMarked(marker); // a run cut short (Ctrl-C)
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

async function runOne(
  opts: RunOptions,
  tools: { setpriv?: string; setsid?: string; denoDir: string; live: Set<string> },
): Promise<RunResult> {
  const marker = `${crypto.randomUUID()}`;
  tools.live.add(marker);
  const argv = [Deno.execPath(), "run", "-A", CLI, ...opts.elfuseArgs];
  if (tools.setsid) argv.unshift(tools.setsid); // a session of its own: kill(0) stays inside
  if (tools.setpriv) {
    argv.unshift(
      tools.setpriv,
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      "--",
    );
  }
  const t0 = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    clearEnv: true,
    env: {
      PATH: "/usr/bin:/bin",
      HOME: opts.cwd,
      LANG: "C",
      DENO_DIR: tools.denoDir,
      NO_COLOR: "1",
      [MARKER_KEY]: marker,
      ...opts.env,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killMarked(marker);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutMs);
  // A run may not take the machine's memory (a 2 GiB mremap once committed 4 GiB per call, and a
  // fallocate grew a memfd until the machine ran out): past MEMORY_CAP resident in its processes,
  // or with the host's available memory low, it is ended and reported.
  let peak = 0;
  const watch = setInterval(() => {
    const used = residentBytes(marker, child.pid);
    peak = Math.max(peak, used);
    // Memory a run takes without holding it resident (a memfd's pages) shows only as the host's
    // available memory going down: below 15 % of RAM, the run is ended too.
    const low = Deno.systemMemoryInfo().available < RAM * 0.15;
    if (low) peak = Math.max(peak, MEMORY_CAP + 1);
    if (used > MEMORY_CAP || low) {
      killMarked(marker);
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }, 250);
  const writer = child.stdin.getWriter();
  writer.write(opts.stdin ?? new Uint8Array(0)).catch(() => {}).finally(() => {
    writer.close().catch(() => {});
  });
  const out = await child.output();
  clearTimeout(timer);
  clearInterval(watch);
  const ms = performance.now() - t0;
  // Pid holders and spares see their pipes close when elfuse ends; give them a moment.
  let strays: number[] = [];
  for (let i = 0; i < 50; i++) {
    strays = processesWith("environ", `${MARKER_KEY}=${marker}`);
    if (strays.length === 0) break;
    await new Promise((ok) => setTimeout(ok, 20));
  }
  if (strays.length > 0) killMarked(marker);
  tools.live.delete(marker);
  const dec = new TextDecoder();
  return {
    code: out.signal === null ? out.code : undefined,
    signal: out.signal ?? undefined,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    timedOut,
    strays: timedOut ? [] : strays,
    peakBytes: peak,
    ms,
  };
}

/** The most a run's processes may hold resident together: a quarter of RAM, at most 4 GiB. */
const RAM = Deno.systemMemoryInfo().total;
export const MEMORY_CAP = Math.min(4 * 2 ** 30, RAM / 4);

/** Resident bytes of the run's processes (the first elfuse, and every one carrying the marker). */
function residentBytes(marker: string, pid: number): number {
  const pids = new Set([pid, ...processesWith("environ", `${MARKER_KEY}=${marker}`)]);
  let total = 0;
  for (const p of pids) {
    try {
      total += Number(Deno.readTextFileSync(`/proc/${p}/statm`).split(" ")[1]) * 4096;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

function killMarked(marker: string): void {
  for (let sweep = 0; sweep < 2; sweep++) {
    for (const pid of processesWith("environ", `${MARKER_KEY}=${marker}`)) {
      if (pid === Deno.pid) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
}
