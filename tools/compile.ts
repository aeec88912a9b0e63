// `deno task compile`: a standalone elfuse binary with `deno compile`, signed on macOS with
// entitlements.plist so that it may use Hypervisor.framework.
//
// deno compile downloads the `denort` runtime for the target on first use; without network access
// to Deno's release server it fails, and this script says so. It never reports success for a
// binary that does not work: DENORT_BIN is checked before building (the deno CLI there makes
// deno compile write plain deno, which prints Deno's version and fails on the program), and a
// binary for this host must run a generated aarch64 hello before "wrote" is printed.
import { parseArgs } from "../runtime/deps.ts";
import { V8_FLAGS_ARG } from "../runtime/v8_flags.ts";
import { makeElf } from "../runtime/elf/testing.ts";

const root = new URL("../", import.meta.url).pathname;

/** The deno compile command line for a target (exported for tests). */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    "--allow-all",
    "--no-check",
    V8_FLAGS_ARG,
    // Lazily imported modules and the watchdog Worker are not found by static analysis.
    "--include",
    `${root}runtime/watchdog.ts`,
    "--include",
    `${root}runtime/run.ts`,
    "--include",
    `${root}runtime/host/exit.ts`,
    "--include",
    `${root}runtime/backends/unicorn/backend.ts`,
    "--include",
    `${root}runtime/deps.ts`,
    "--include",
    `${root}runtime/backends/hvf/backend.ts`,
    "--include",
    `${root}runtime/backends/hvf/ffi.ts`,
    "--include",
    `${root}runtime/backends/hvf/sim.ts`,
    "--include",
    `${root}runtime/kernel/strace.ts`,
    "--include",
    `${root}runtime/fork_child.ts`,
    "--include",
    `${root}runtime/host/signal_worker.ts`,
    "--include",
    `${root}runtime/host/worker_url.ts`,
    "--include",
    `${root}runtime/sysroot/create.ts`,
    "--include",
    `${root}runtime/binfmt.ts`,
    "--include",
    `${root}runtime/x86/start.ts`,
    "--include",
    `${root}runtime/backends/hvf/rosetta_install.ts`,
    "--include",
    `${root}runtime/gdb/endpoint.ts`,
    "--include",
    `${root}runtime/gdb/stub.ts`,
    "--include",
    `${root}runtime/gdb/server_worker.ts`,
    "--output",
    output,
    ...(target ? ["--target", target] : []),
    `${root}cli.ts`,
  ];
}

/** The codesign command that adds the hypervisor entitlement (macOS only). */
export function codesignArgs(binary: string): string[] {
  return ["--force", "--sign", "-", "--entitlements", `${root}entitlements.plist`, binary];
}

/**
 * What is wrong with DENORT_BIN for deno compile, or undefined when it is unset or looks like a
 * denort. The deno CLI answers `--version` with "deno X.Y.Z"; denort has no such command line.
 */
export async function denortProblem(denort: string | undefined): Promise<string | undefined> {
  if (denort === undefined || denort === "") return undefined;
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(denort);
  } catch {
    return `DENORT_BIN=${denort}: no such file (unset it, or point it at a denort binary)`;
  }
  if (!st.isFile || (st.mode !== null && (st.mode & 0o111) === 0)) {
    return `DENORT_BIN=${denort}: not an executable file`;
  }
  const out = await new Deno.Command(denort, {
    args: ["--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).output().catch(() => undefined);
  const text = out ? new TextDecoder().decode(out.stdout) : "";
  if (/^deno \d+\.\d+\.\d+/m.test(text)) {
    return `DENORT_BIN=${denort} is the deno CLI, not denort: deno compile would write plain ` +
      `deno (unset DENORT_BIN, or use the denort-<target>.zip of Deno's release)`;
  }
  return undefined;
}

/** The host's target triple as deno compile names it. */
export function hostTarget(): string {
  const os = Deno.build.os === "darwin" ? "apple-darwin" : "unknown-linux-gnu";
  return `${Deno.build.arch}-${os}`;
}

/** A static aarch64 Linux program that writes "hello\n" and exits 0 (the smoke test's guest). */
export function helloElf(): Uint8Array {
  const code = new Uint32Array([
    0xd2800020, // mov x0, #1 (stdout)
    0x100000e1, // adr x1, msg (28 bytes on)
    0xd28000c2, // mov x2, #6
    0xd2800808, // mov x8, #64 (write)
    0xd4000001, // svc #0
    0xd2800000, // mov x0, #0
    0xd2800ba8, // mov x8, #93 (exit)
    0xd4000001, // svc #0
  ]);
  const bytes = new Uint8Array(code.length * 4 + 6);
  bytes.set(new Uint8Array(code.buffer));
  bytes.set(new TextEncoder().encode("hello\n"), code.length * 4);
  return makeElf({
    code: bytes,
    size: 0x200,
    segs: [{ offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x200, flags: 5 }],
  });
}

/**
 * Runs a built elfuse on a generated hello and on --version; returns what is wrong, or undefined
 * when it printed "hello" and its version.
 */
export async function smokeProblem(binary: string): Promise<string | undefined> {
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-smoke-" });
  try {
    const hello = `${dir}/hello`;
    Deno.writeFileSync(hello, helloElf(), { mode: 0o755 });
    const run = async (args: string[]) => {
      const o = await new Deno.Command(binary, {
        args,
        cwd: dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
    };
    const firstLine = (s: string) => s.trim().split("\n")[0]?.slice(0, 200) ?? "";
    let r;
    try {
      r = await run(["--version"]);
    } catch (e) {
      return `${binary} does not start: ${(e as Error).message}`;
    }
    if (r.code !== 0 || !/^elfuse \d/.test(r.out)) {
      return `${binary} --version printed '${firstLine(r.out || r.err)}', not elfuse's version`;
    }
    r = await run([hello]);
    if (r.code !== 0 || r.out !== "hello\n") {
      return `${binary} did not run a hello program (exit ${r.code}): ` +
        `'${firstLine(r.err || r.out)}'`;
    }
    return undefined;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Fails the build: one line, the broken output removed, exit status 1. */
function fail(message: string, output?: string): never {
  if (output !== undefined) {
    try {
      Deno.removeSync(output);
    } catch { /* never written */ }
  }
  console.error(`compile: ${message}`);
  Deno.exit(1);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string", short: "o" }, target: { type: "string" } },
  });
  const output = values.output ?? `${root}dist/elfuse`;
  const target = values.target ?? hostTarget();
  const problem = await denortProblem(Deno.env.get("DENORT_BIN"));
  if (problem) fail(problem);
  const r = await new Deno.Command(Deno.execPath(), { args: compileArgs(output, values.target) })
    .output();
  if (r.code !== 0) {
    const err = new TextDecoder().decode(r.stderr);
    console.error(err.trimEnd());
    if (/dl\.deno\.land|dns|network|connect|lookup address/i.test(err)) {
      fail(
        "deno compile must download its runtime (denort) from dl.deno.land, which this machine " +
          "cannot reach: build where it can, or set DENORT_BIN to a denort binary for " + target,
      );
    }
    fail(`deno compile failed (exit ${r.code})`);
  }
  if (target.includes("apple-darwin") && Deno.build.os === "darwin") {
    const s = await new Deno.Command("codesign", { args: codesignArgs(output) }).output();
    if (s.code !== 0) {
      console.error(new TextDecoder().decode(s.stderr).trimEnd());
      fail("codesign failed", output);
    }
  }
  if (target === hostTarget()) {
    const broken = await smokeProblem(output);
    if (broken) fail(`the binary does not work, removed it: ${broken}`, output);
    console.log(`compile: wrote ${output} (it ran a hello program)`);
  } else if (target.includes("apple-darwin")) {
    console.log(
      `compile: wrote ${output} for ${target}, not run here: sign it on a Mac ` +
        `(codesign ${codesignArgs(output).join(" ")}), then check it with elfuse --version`,
    );
  } else {
    console.log(
      `compile: wrote ${output} for ${target}, not run here (check it with elfuse --version)`,
    );
  }
}
