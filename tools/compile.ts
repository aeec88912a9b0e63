// `deno task compile`: a standalone elfuse binary with `deno compile`, signed on macOS with
// entitlements.plist so that it may use Hypervisor.framework.
//
// deno compile downloads the `denort` runtime for the target on first use; without network access
// to Deno's release server it fails, and this script says so.
import { parseArgs } from "../runtime/deps.ts";

const root = new URL("../", import.meta.url).pathname;

/** The deno compile command line for a target (exported for tests). */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    "--allow-all",
    "--no-check",
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
    `${root}runtime/sysroot/create.ts`,
    "--include",
    `${root}runtime/binfmt.ts`,
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

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string", short: "o" }, target: { type: "string" } },
  });
  const output = values.output ?? `${root}dist/elfuse`;
  const r = await new Deno.Command(Deno.execPath(), { args: compileArgs(output, values.target) })
    .output();
  if (r.code !== 0) {
    const err = new TextDecoder().decode(r.stderr);
    console.error(err.trimEnd());
    if (/dl\.deno\.land|dns|network|connect/i.test(err)) {
      console.error(
        "compile: deno compile must download its runtime (denort); this machine cannot reach it",
      );
    }
    Deno.exit(1);
  }
  const forMac = values.target
    ? values.target.includes("apple-darwin")
    : Deno.build.os === "darwin";
  if (forMac) {
    if (Deno.build.os !== "darwin") {
      console.error(
        `compile: wrote ${output}; sign it on a Mac: codesign ${codesignArgs(output).join(" ")}`,
      );
    } else {
      const s = await new Deno.Command("codesign", { args: codesignArgs(output) }).output();
      if (s.code !== 0) {
        console.error(new TextDecoder().decode(s.stderr).trimEnd());
        Deno.exit(1);
      }
    }
  }
  console.log(`compile: wrote ${output}`);
}
