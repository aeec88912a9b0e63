// elfuse command line: `elfuse [options] [--] program [args...]`.
import { ElfuseError, printable } from "./runtime/errors.ts";
import { type BackendName, backendNames } from "./runtime/backends/select.ts";
import { preloadUnicorn } from "./runtime/backends/unicorn/preload.ts";

export const VERSION = "0.1.0";

const HELP = `elfuse ${VERSION}: run Linux AArch64 ELF programs from the shell

usage: elfuse [options] [--] program [args...]
       elfuse sysroot create [--suite SUITE] DIR PACKAGE...

A program name without a slash is looked up in PATH. The exit status is the program's; a
program killed by a signal ends elfuse with the same signal.

options:
  -h, --help             show this help and exit
  -V, --version          show the version and exit
  -v, --verbose          diagnostics on stderr: backend, unknown syscalls, faults, start-up phases
      --backend NAME     CPU backend: ${backendNames.join(", ")} (default: hvf on Apple
                         Silicon once available, unicorn elsewhere)
      --strace           print each syscall, its arguments and its result on stderr
      --env KEY=VALUE    set a guest environment variable (repeatable); a bare KEY copies
                         the host's value
      --clear-env        start the guest with an empty environment (then add with --env)
      --workdir DIR      run the guest in DIR
      --sysroot DIR      guest system files (/usr, /lib, /etc...) and the dynamic loader
                         come from DIR (see docs/sysroot.md)
      --timeout SECONDS  end the guest and every process it started (exit status 124)
                         after SECONDS of wall-clock time

sysroot create builds DIR from Debian arm64 packages and their dependencies (default
suite bookworm), for use with --sysroot DIR. (A program named sysroot: ./sysroot or -- sysroot.)

environment:
  ELFUSE_LIBUNICORN      path of the libunicorn shared library to use
  ELFUSE_FORK=process    start every fork child as a host process of its own (slower),
                         instead of running it in-process first
  ELFUSE_UNICORN_TUNING=0
                         use libunicorn as shipped: slow stores and an exit check after
                         every load (no in-memory changes; -v tells)
`;

const options = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  verbose: { type: "boolean", short: "v" },
  backend: { type: "string" },
  strace: { type: "boolean" },
  env: { type: "string", multiple: true },
  "clear-env": { type: "boolean" },
  workdir: { type: "string" },
  sysroot: { type: "string" },
  timeout: { type: "string" },
} as const;

/** Splits argv at the program: options before it, the program and its arguments after. */
function splitAtProgram(argv: string[]): { own: string[]; rest: string[] } {
  const takesValue = new Set(
    Object.entries(options).filter(([, o]) => o.type === "string").map(([n]) => `--${n}`),
  );
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") return { own: argv.slice(0, i), rest: argv.slice(i + 1) };
    if (!a.startsWith("-") || a === "-") return { own: argv.slice(0, i), rest: argv.slice(i) };
    if (takesValue.has(a)) i++;
  }
  return { own: argv, rest: [] };
}

export interface CliRequest {
  program: string;
  args: string[];
  env: string[];
  backend?: BackendName;
  strace: boolean;
  verbose: boolean;
  workdir?: string;
  sysroot?: string;
  timeout?: number;
}

/** Parses the command line; returns a request, or "help"/"version". */
export async function parseCli(argv: string[]): Promise<CliRequest | "help" | "version"> {
  const { own, rest } = splitAtProgram(argv);
  let values;
  try {
    // Loaded only when there are options: node:util's first import costs ~4.5 ms of start-up.
    const parseArgs = own.length === 0 ? undefined : (await import("./runtime/deps.ts")).parseArgs;
    values = parseArgs === undefined
      ? {} as Record<string, undefined>
      : parseArgs({ args: own, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new ElfuseError(`${(e as Error).message.split("\n")[0]} (see elfuse --help)`, 2);
  }
  if (values.help) return "help";
  if (values.version) return "version";
  if (rest.length === 0) throw new ElfuseError("no program given (see elfuse --help)", 2);
  const backend = values.backend;
  if (backend !== undefined && !(backendNames as readonly string[]).includes(backend)) {
    throw new ElfuseError(`unknown backend '${backend}' (choose ${backendNames.join(", ")})`, 2);
  }
  let timeout: number | undefined;
  if (values.timeout !== undefined) {
    timeout = Number(values.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new ElfuseError(
        `--timeout takes a positive number of seconds, not '${values.timeout}'`,
        2,
      );
    }
  }
  const env = new Map<string, string>();
  if (!values["clear-env"]) {
    for (const [k, v] of Object.entries(Deno.env.toObject())) env.set(k, v);
  }
  for (const e of values.env ?? []) {
    const eq = e.indexOf("=");
    if (eq === 0) throw new ElfuseError(`--env '${e}': the name is empty`, 2);
    if (eq < 0) {
      const v = Deno.env.get(e);
      if (v !== undefined) env.set(e, v);
    } else env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return {
    program: rest[0],
    args: rest.slice(1),
    env: [...env].map(([k, v]) => `${k}=${v}`),
    backend: backend as BackendName | undefined,
    strace: values.strace === true,
    verbose: values.verbose === true,
    workdir: values.workdir,
    sysroot: values.sysroot,
    timeout,
  };
}

export interface SysrootRequest {
  dir: string;
  packages: string[];
  suite?: string;
}

/** Parses `sysroot create [--suite S] DIR PACKAGE...` (the words after `sysroot`). */
export async function parseSysrootCli(argv: string[]): Promise<SysrootRequest> {
  const usage = "usage: elfuse sysroot create [--suite SUITE] DIR PACKAGE...";
  if (argv[0] !== "create") {
    throw new ElfuseError(
      argv.length ? `sysroot: unknown command '${argv[0]}' (${usage})` : usage,
      2,
    );
  }
  let values, positionals;
  try {
    const { parseArgs } = await import("./runtime/deps.ts");
    ({ values, positionals } = parseArgs({
      args: argv.slice(1),
      options: { suite: { type: "string" } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new ElfuseError(`sysroot create: ${(e as Error).message.split("\n")[0]} (${usage})`, 2);
  }
  if (positionals.length < 2) throw new ElfuseError(usage, 2);
  return { dir: positionals[0], packages: positionals.slice(1), suite: values.suite };
}

/** Runs the command line and returns the process exit status (or dies by the guest's signal). */
export async function main(argv: string[]): Promise<number> {
  // Linux runs on Unicorn whatever the options say: overlap its 7-8 ms dlopen with the rest.
  if (argv[0] !== "sysroot") preloadUnicorn();
  if (argv[0] === "--fork-spare" && argv.length === 3) {
    // Internal: a pre-started process waiting to become a guest fork's child.
    const { forkSpareMain } = await import("./runtime/fork_child.ts");
    return await forkSpareMain(argv[1], argv[2]);
  }
  if (argv[0] === "--fork-child" && argv.length === 2) {
    // Internal: a guest fork's child process (runtime/kernel/fork.ts starts it).
    const { forkChildMain } = await import("./runtime/fork_child.ts");
    return await forkChildMain(argv[1]);
  }
  try {
    if (argv[0] === "sysroot") {
      const req = await parseSysrootCli(argv.slice(1));
      const { createSysroot } = await import("./runtime/sysroot/create.ts");
      await createSysroot(req);
      return 0;
    }
    const req = await parseCli(argv);
    if (req === "help") {
      await Deno.stdout.write(new TextEncoder().encode(HELP));
      return 0;
    }
    if (req === "version") {
      await Deno.stdout.write(
        new TextEncoder().encode(`elfuse ${VERSION} (deno ${Deno.version.deno})\n`),
      );
      return 0;
    }
    if (req.timeout !== undefined) {
      const w = new Worker(new URL("./runtime/watchdog.ts", import.meta.url), { type: "module" });
      // Inherited by every host process this run starts, so the watchdog can find them all.
      const marker = `ELFUSE_RUN=${Deno.pid}-${crypto.randomUUID()}`;
      Deno.env.set("ELFUSE_RUN", marker.slice("ELFUSE_RUN=".length));
      w.postMessage({ seconds: req.timeout, marker });
    }
    const { runProgram } = await import("./runtime/run.ts");
    const status = await runProgram({ ...req, argv0: req.program });
    const { exitLike } = await import("./runtime/host/exit.ts");
    return exitLike("code" in status ? status : { signal: status.signal });
  } catch (e) {
    if (e instanceof ElfuseError) {
      console.error(`elfuse: ${printable(e.message)}`);
      return e.exitCode;
    }
    if (e instanceof Deno.errors.NotCapable) {
      // Deno's message names the flag: "Requires env access, run again with the --allow-env flag".
      const flag = /--allow-[a-z-]+/.exec(e.message)?.[0] ?? "-A";
      console.error(`elfuse: needs Deno's ${flag} permission (run it as deno run -A cli.ts)`);
      return 1;
    }
    console.error(
      `elfuse: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`,
    );
    return 70;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
