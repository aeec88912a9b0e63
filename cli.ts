/**
 * The elfuse command line: `elfuse [options] [--] program [args...]`, `elfuse sysroot create`,
 * `elfuse binfmt`. `deno install -g -A -n elfuse jsr:@elfuse/elfuse/cli` installs it as `elfuse`.
 *
 * @example Run it from a program of your own
 * ```ts
 * import { main } from "./cli.ts";
 *
 * Deno.exit(await main(["--timeout", "10", "./fixtures/build/hello"]));
 * ```
 *
 * @module
 */
import { ElfuseError, printable } from "./runtime/errors.ts";
import { type BackendName, backendNames } from "./runtime/backends/select.ts";
import { preloadUnicorn } from "./runtime/backends/unicorn/preload.ts";
import { SYSROOT_ARCHES, type SysrootArch } from "./runtime/sysroot/arch.ts";

export type { BackendName, SysrootArch };

/** elfuse's version, as `elfuse --version` prints it. */
export const VERSION = "0.1.0";

const HELP = `elfuse ${VERSION}: run Linux AArch64 ELF programs from the shell (x86-64 ones
through a translator, box64)

usage: elfuse [options] [--] program [args...]
       elfuse sysroot create [--suite SUITE] [--arch ARCH] [--only] DIR PACKAGE...
       elfuse binfmt install|uninstall|status

A program name without a slash is looked up in PATH; a #! script runs through its
interpreter, as execve runs it. The exit status is the program's; a program killed by a
signal ends elfuse with the same signal.

options:
  -h, --help             show this help and exit
  -V, --version          show the version and exit
  -v, --verbose          diagnostics on stderr: backend, unknown syscalls, faults, start-up phases
      --backend NAME     CPU backend: ${backendNames.join(", ")} (default: hvf on Apple
                         Silicon when this process may create a VM, else unicorn)
      --strace           print each syscall, its arguments and its result on stderr; lines
                         carry [pid N] ([tid N]) once there is more than one process (thread)
      --strace-file FILE the --strace lines go to FILE instead of stderr (implies --strace)
      --env KEY=VALUE    set a guest environment variable (repeatable); a bare KEY copies
                         the host's value
  -U, --unset-env NAME   remove NAME from the guest's environment (repeatable)
      --clear-env        start the guest with an empty environment (then add with --env)
  -0, --argv0 NAME       the program's argv[0] (default: the program as given)
      --workdir DIR      run the guest in DIR
      --sysroot DIR      guest system files (/usr, /lib, /etc...) and the dynamic loader
                         come from DIR (see docs/sysroot.md)
      --timeout SECONDS  end the guest and every process it started (exit status 124)
                         after SECONDS of wall-clock time
      --x86-translator PATH
                         run x86-64 programs through this AArch64 translator (box64);
                         default: box64 from the sysroot (see docs/x86_64.md)
      --no-x86           refuse x86-64 programs (alias --no-rosetta)
      --gdb WHERE        serve gdb's remote protocol at WHERE: PORT (on 127.0.0.1),
                         HOST:PORT or a unix socket path (see docs/gdb.md)
      --gdb-stop-on-entry
                         with --gdb: wait for the debugger before the first instruction

subcommands (only as the first argument; a program named sysroot or binfmt: ./sysroot):
  sysroot create         builds DIR from Debian arm64 packages, their dependencies and
                         Debian's base (default suite bookworm), for use with --sysroot DIR
  binfmt install         (root) registers elfuse with binfmt_misc, so that aarch64 programs
                         run through elfuse when any program execs them; uninstall removes
                         the entry, status shows what handles aarch64 programs

environment:
  ELFUSE_SYSROOT         the default for --sysroot (as qemu-user's QEMU_LD_PREFIX)
  ELFUSE_X86_TRANSLATOR  the default for --x86-translator
  ELFUSE_X86_SYSROOT     box64's sysroot for x86-64 programs run without --sysroot (default
                         ~/.cache/elfuse/x86-sysroot; at a terminal elfuse offers to fetch it)
  ELFUSE_NO_X86=1        as --no-x86 (ELFUSE_NO_ROSETTA=1 too)
  ELFUSE_VZ_SIGNATURE_FILE
                         Rosetta: a file holding Apple's VZ signature, or a binary to find it
                         in (default: Rosetta's own binary; see docs/x86_64.md)
  ELFUSE_X86_STANDIN=rosetta
                         (tests) the --x86-translator program plays Rosetta's role
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
  "strace-file": { type: "string" },
  env: { type: "string", multiple: true },
  "unset-env": { type: "string", short: "U", multiple: true },
  "clear-env": { type: "boolean" },
  argv0: { type: "string", short: "0" },
  workdir: { type: "string" },
  sysroot: { type: "string" },
  timeout: { type: "string" },
  "x86-translator": { type: "string" },
  "no-x86": { type: "boolean" },
  "no-rosetta": { type: "boolean" },
  gdb: { type: "string" },
  "gdb-stop-on-entry": { type: "boolean" },
} as const;

/** Splits argv at the program: options before it, the program and its arguments after. */
function splitAtProgram(argv: string[]): { own: string[]; rest: string[] } {
  const takesValue = new Set(
    Object.entries(options).filter(([, o]) => o.type === "string").flatMap(([n, o]) =>
      "short" in o ? [`--${n}`, `-${o.short}`] : [`--${n}`]
    ),
  );
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") return { own: argv.slice(0, i), rest: argv.slice(i + 1) };
    if (!a.startsWith("-") || a === "-") return { own: argv.slice(0, i), rest: argv.slice(i) };
    if (takesValue.has(a)) i++;
  }
  return { own: argv, rest: [] };
}

/** A run the command line asks for. */
export interface CliRequest {
  /** The program as given (a path, or a bare name looked up in PATH). */
  program: string;
  /** Its arguments after argv[0]. */
  args: string[];
  /** argv[0] (`-0`; default: the program as given). */
  argv0: string;
  /** The guest's environment as KEY=VALUE strings. */
  env: string[];
  /** The CPU backend (`--backend`; default: elfuse's choice). */
  backend?: BackendName;
  /** One line per syscall (`--strace`). */
  strace: boolean;
  /** Where --strace lines go (default stderr). */
  straceFile?: string;
  /** Diagnostics on stderr (`-v`). */
  verbose: boolean;
  /** The guest's working directory (`--workdir`). */
  workdir?: string;
  /** The guest's system files (`--sysroot` or ELFUSE_SYSROOT). */
  sysroot?: string;
  /** Seconds of wall-clock time before the run is ended (`--timeout`). */
  timeout?: number;
  /** --x86-translator (or ELFUSE_X86_TRANSLATOR). */
  x86Translator?: string;
  /** --no-x86, --no-rosetta (or ELFUSE_NO_X86, ELFUSE_NO_ROSETTA). */
  noX86?: boolean;
  /** ELFUSE_X86_STANDIN=rosetta: the --x86-translator plays Rosetta's role (tests). */
  x86StandIn?: boolean;
  /** --gdb: where the GDB stub listens (runtime/gdb/). */
  gdb?: string;
  /** --gdb-stop-on-entry: the guest waits for the debugger before its first instruction. */
  gdbStopOnEntry: boolean;
}

/** A directory an option names: must exist (a usage error, exit 2, like every bad option). */
function directoryOption(option: string, dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(dir);
  } catch {
    throw new ElfuseError(`${option} ${dir}: no such directory`, 2);
  }
  if (!st.isDirectory) throw new ElfuseError(`${option} ${dir}: not a directory`, 2);
  return dir;
}

/**
 * Parses the command line; returns a request, or "help"/"version".
 *
 * @example
 * ```ts
 * const req = await parseCli(["--timeout", "5", "./prog", "arg"]);
 * if (typeof req === "object") console.log(req.program, req.args, req.timeout); // ./prog ["arg"] 5
 * ```
 */
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
    throw new ElfuseError(`${parseArgsMessage(e)} (see elfuse --help)`, 2);
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
  for (const name of values["unset-env"] ?? []) {
    if (name === "" || name.includes("=")) {
      throw new ElfuseError(`--unset-env takes a variable's name, not '${name}'`, 2);
    }
    env.delete(name);
  }
  if (values["strace-file"] === "") throw new ElfuseError("--strace-file needs a path", 2);
  if (values["gdb-stop-on-entry"] && values.gdb === undefined) {
    throw new ElfuseError("--gdb-stop-on-entry needs --gdb", 2);
  }
  const sysrootFromEnv = values.sysroot === undefined ? Deno.env.get("ELFUSE_SYSROOT") : undefined;
  const translator = values["x86-translator"] ??
    (Deno.env.get("ELFUSE_X86_TRANSLATOR") || undefined);
  if (translator === "") throw new ElfuseError("--x86-translator needs a path", 2);
  const envFlag = (name: string) => !["", "0", undefined].includes(Deno.env.get(name));
  const standIn = Deno.env.get("ELFUSE_X86_STANDIN") || undefined;
  if (standIn !== undefined && standIn !== "rosetta") {
    throw new ElfuseError(`ELFUSE_X86_STANDIN=${standIn}: the only stand-in is rosetta`, 2);
  }
  if (standIn !== undefined && translator === undefined) {
    throw new ElfuseError("ELFUSE_X86_STANDIN=rosetta needs --x86-translator PATH", 2);
  }
  return {
    program: rest[0],
    args: rest.slice(1),
    argv0: values.argv0 ?? rest[0],
    env: [...env].map(([k, v]) => `${k}=${v}`),
    backend: backend as BackendName | undefined,
    strace: values.strace === true || values["strace-file"] !== undefined,
    straceFile: values["strace-file"],
    verbose: values.verbose === true,
    workdir: directoryOption("--workdir", values.workdir),
    sysroot: directoryOption(
      sysrootFromEnv ? "ELFUSE_SYSROOT" : "--sysroot",
      values.sysroot ?? (sysrootFromEnv || undefined),
    ),
    timeout,
    x86Translator: translator,
    noX86: values["no-x86"] === true || values["no-rosetta"] === true ||
      envFlag("ELFUSE_NO_X86") || envFlag("ELFUSE_NO_ROSETTA"),
    x86StandIn: standIn !== undefined,
    gdb: values.gdb,
    gdbStopOnEntry: values["gdb-stop-on-entry"] === true,
  };
}

/**
 * node:util parseArgs's error as one line: its first sentence, quotes balanced.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 *
 * try {
 *   parseArgs({ args: ["--x"], options: {} });
 * } catch (e) {
 *   console.log(parseArgsMessage(e)); // "Unknown option '--x'"
 * }
 * ```
 */
export function parseArgsMessage(e: unknown): string {
  const message = (e as Error).message.split("\n")[0];
  // "Unknown option '--x'. To specify a positional argument starting with a '-', place it at
  // the end of the command after '--', as in '-- \"--x\"": the first sentence says it all.
  return message.split(/\.\s/)[0].replace(/\.$/, "");
}

/** What `elfuse sysroot create` is asked to build. */
export interface SysrootRequest {
  /** The directory to build the sysroot in. */
  dir: string;
  /** The Debian packages to install (with their dependencies). */
  packages: string[];
  /** The Debian suite (default bookworm). */
  suite?: string;
  /** The Debian architecture (default arm64). */
  arch?: SysrootArch;
  /** Only the named packages and their dependencies, without Debian's base. */
  only?: boolean;
}

const SYSROOT_USAGE =
  "usage: elfuse sysroot create [--suite SUITE] [--arch ARCH] [--only] DIR PACKAGE...";

const SYSROOT_HELP = `${SYSROOT_USAGE}

Builds DIR from Debian arm64 packages and everything they depend on, for use with
elfuse --sysroot DIR. apt-get resolves and downloads them through a private state
directory under DIR/.elfuse (the system's apt sources and architectures are never
touched); dpkg-deb unpacks them. Debian's base comes too (dash as /bin/sh,
base-passwd's /etc/passwd and /etc/group, debianutils), and what the maintainer
scripts would do is done: the alternatives links (awk, which...) and, with the
ca-certificates package, the CA bundle. See docs/sysroot.md.

options:
  --suite SUITE   the Debian suite to take the packages from (default bookworm)
  --arch ARCH     arm64 (default), or amd64: x86-64 libraries for x86-64 programs run
                  through box64, added beside the arm64 ones (see docs/x86_64.md)
  --only          only the named packages and their dependencies, not Debian's base
  -h, --help      show this help and exit
`;

/**
 * Parses `sysroot create [--suite S] [--arch A] [--only] DIR PACKAGE...` (the words after
 * `sysroot`), or "help" for
 * `sysroot --help` and `sysroot create --help`.
 *
 * @example
 * ```ts
 * const req = await parseSysrootCli(["create", "--arch", "amd64", "root", "bash"]);
 * if (req !== "help") console.log(req.dir, req.arch, req.packages); // root amd64 ["bash"]
 * ```
 */
export async function parseSysrootCli(argv: string[]): Promise<SysrootRequest | "help"> {
  if (argv[0] === "-h" || argv[0] === "--help") return "help";
  if (argv[0] !== "create") {
    throw new ElfuseError(
      argv.length ? `sysroot: unknown command '${argv[0]}' (${SYSROOT_USAGE})` : SYSROOT_USAGE,
      2,
    );
  }
  let values, positionals;
  try {
    const { parseArgs } = await import("./runtime/deps.ts");
    ({ values, positionals } = parseArgs({
      args: argv.slice(1),
      options: {
        suite: { type: "string" },
        arch: { type: "string" },
        only: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new ElfuseError(`sysroot create: ${parseArgsMessage(e)} (${SYSROOT_USAGE})`, 2);
  }
  if (values.help) return "help";
  if (positionals.length < 2) throw new ElfuseError(SYSROOT_USAGE, 2);
  const arch = values.arch;
  if (arch !== undefined && !(SYSROOT_ARCHES as readonly string[]).includes(arch)) {
    throw new ElfuseError(
      `sysroot create: unknown --arch '${arch}' (use ${SYSROOT_ARCHES.join(" or ")})`,
      2,
    );
  }
  return {
    dir: positionals[0],
    packages: positionals.slice(1),
    suite: values.suite,
    arch: arch as SysrootArch | undefined,
    only: values.only === true,
  };
}

/**
 * Runs the command line and returns the process exit status (or dies by the guest's signal).
 *
 * @example
 * ```ts
 * const status = await main(["./fixtures/build/hello"]); // prints "hello, world"
 * console.log(status); // 0
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  // Linux runs on Unicorn whatever the options say: overlap its 7-8 ms dlopen with the rest.
  if (argv[0] !== "sysroot" && argv[0] !== "binfmt") preloadUnicorn();
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
      if (req === "help") {
        await Deno.stdout.write(new TextEncoder().encode(SYSROOT_HELP));
        return 0;
      }
      const { createSysroot } = await import("./runtime/sysroot/create.ts");
      await createSysroot(req);
      return 0;
    }
    if (argv[0] === "binfmt") {
      const { binfmtMain } = await import("./runtime/binfmt.ts");
      return await binfmtMain(argv.slice(1));
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
      const { workerUrl } = await import("./runtime/host/worker_url.ts");
      const w = new Worker(
        workerUrl("watchdog", new URL("./runtime/watchdog.ts", import.meta.url)),
        { type: "module" },
      );
      // Inherited by every host process this run starts, so the watchdog can find them all.
      const marker = `ELFUSE_RUN=${Deno.pid}-${crypto.randomUUID()}`;
      Deno.env.set("ELFUSE_RUN", marker.slice("ELFUSE_RUN=".length));
      w.postMessage({ seconds: req.timeout, marker });
    }
    if (req.straceFile !== undefined) {
      // Truncated once here; every process of the run appends to it (runtime/kernel/strace.ts).
      try {
        Deno.writeTextFileSync(req.straceFile, "");
      } catch (e) {
        throw new ElfuseError(`--strace-file ${req.straceFile}: ${(e as Error).message}`, 2);
      }
      Deno.env.set("ELFUSE_STRACE_FILE", Deno.realPathSync(req.straceFile));
    }
    const { runProgram } = await import("./runtime/run.ts");
    const status = await runProgram(req);
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
