// gdb itself (Debian's gdb-multiarch) drives elfuse's stub in batch mode: breakpoints, bt,
// finish, registers, memory, stepi, set var, shared libraries and threads. The same script runs
// against `qemu-aarch64 -g` when it is installed, and the stable lines must agree. lldb's
// gdb-remote too. Each is skipped, with a message saying so, only when the debugger is not
// installed (tools/setup.sh installs gdb-multiarch and lldb).
import assert from "node:assert/strict";
import { freePort, startDebuggee } from "./testing.ts";

const build = new URL("../../fixtures/build/", import.meta.url).pathname;
const cross = "/usr/aarch64-linux-gnu";

function found(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const gdb = ["gdb-multiarch", "gdb"].find((g) =>
  found(g, ["-nx", "-batch", "-ex", "set architecture aarch64"])
);
const qemu = found("qemu-aarch64", ["--version"]) ? "qemu-aarch64" : undefined;
if (gdb === undefined) {
  console.error(
    "gdb_test.ts: SKIPPED: no gdb with aarch64 support (apt-get install gdb-multiarch)",
  );
}

async function runGdb(
  program: string,
  port: number,
  script: string[],
  before: string[] = [],
): Promise<string> {
  const out = await new Deno.Command(gdb!, {
    args: [
      "-nx",
      "-batch",
      "-ex",
      "set pagination off",
      "-ex",
      "set confirm off",
      ...before.flatMap((l) => ["-ex", l]),
      "-ex",
      `target remote 127.0.0.1:${port}`,
      ...script.flatMap((l) => ["-ex", l]),
      program,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

/** The script under elfuse --gdb, and under qemu-aarch64 -g when there is one. */
async function both(
  program: string,
  script: string[],
  opts: { sysroot?: string; qemu?: boolean } = {},
): Promise<{ elfuse: string; qemu?: string; status: number; stdout: string }> {
  const port = freePort();
  const extra = ["--gdb-stop-on-entry", ...(opts.sysroot ? ["--sysroot", opts.sysroot] : [])];
  const d = await startDebuggee(`127.0.0.1:${port}`, program, [], extra);
  // gdb reads the program's libraries from the sysroot directly (set before it connects).
  const before = opts.sysroot && opts.qemu !== false ? [`set sysroot ${opts.sysroot}`] : [];
  const elfuse = await runGdb(program, port, script, before);
  const r = await d.done();
  let qemuOut: string | undefined;
  if (qemu !== undefined && opts.qemu !== false) {
    const qport = freePort();
    const child = new Deno.Command(qemu, {
      args: ["-g", String(qport), ...(opts.sysroot ? ["-L", opts.sysroot] : []), program],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    qemuOut = await runGdb(program, qport, script, before); // gdb retries until qemu listens
    await child.status;
  }
  return { elfuse, qemu: qemuOut, status: r.code, stdout: r.stdout };
}

/**
 * The lines both debuggers must print alike: addresses differ (stack, load bias), and so do the
 * stub's capabilities (qemu serves files over vFile and announces process ids).
 */
function stable(text: string): string[] {
  return text.split("\n")
    .filter((l) => !l.startsWith("warning:") && l.trim() !== "")
    .map((l) =>
      l.replace(/0x[0-9a-f]+/g, "0x?")
        .replace(/\((process \d+|Remote target)\)/, "(target)")
        .replace(/LWP \d+|Thread [0-9a-f.]+/g, "Thread ?")
    );
}

function assertLines(text: string, lines: (string | RegExp)[]): void {
  for (const l of lines) {
    const hit = text.split("\n").some((t) => typeof l === "string" ? t.includes(l) : l.test(t));
    assert.ok(hit, `gdb printed no line with ${l}:\n${text}`);
  }
}

Deno.test({
  name: "gdb: break, bt, info args, finish, registers, x, stepi, set var, continue to the exit",
  ignore: gdb === undefined,
  async fn() {
    const script = [
      "break add",
      "continue",
      "bt",
      "info args",
      "finish",
      "info registers x0",
      "p counter",
      "x/4xb &counter",
      "stepi",
      "x/i $pc",
      "set var counter = 100",
      "p counter",
      "p $v0.d.u[0]",
      "p $fpcr",
      "delete",
      "continue",
    ];
    const r = await both(`${build}gdb_target`, script);
    assertLines(r.elfuse, [
      "Breakpoint 1, add (a=0, b=1) at",
      /^#1 .* in main \(argc=1, argv=0x[0-9a-f]+\) at .*gdb_target\.c:28$/,
      "a = 0",
      "b = 1",
      "Value returned is $1 = 1",
      /^x0 +0x1 +1$/,
      /^=> 0x[0-9a-f]+ <main\+\d+>:/,
      "$3 = 100",
      "exited normally",
    ]);
    assert.equal(r.stdout, "sum 6 counter 105\n"); // 100, then + 1 + 3 + 1
    if (r.qemu !== undefined) assert.deepEqual(stable(r.elfuse), stable(r.qemu));
  },
});

Deno.test({
  name: "gdb: watch a global across two changes",
  ignore: gdb === undefined,
  async fn() {
    const script = ["break main", "continue", "watch counter", "continue", "continue", "bt"];
    const r = await both(`${build}gdb_target`, [...script, "delete", "continue"], { qemu: false });
    // add(0, 1) leaves counter at 0 (no change, no stop); add(1, 2) makes it 1, add(3, 3) 4.
    assertLines(r.elfuse, [
      "Hardware watchpoint 2: counter",
      "Old value = 0",
      "New value = 1",
      "Old value = 1",
      "New value = 4",
      /^#0 .* in add \(a=3, b=3\) at/,
      "exited normally",
    ]);
    // Not compared: qemu-user's stub refuses Z2 ("Could not insert hardware watchpoint").
  },
});

Deno.test({
  name: "gdb: a dynamic program: ld.so first, then libc through the link map",
  ignore: gdb === undefined,
  async fn() {
    const script = [
      "break add",
      "continue",
      "bt",
      "finish",
      "info sharedlibrary",
      "delete",
      "continue",
    ];
    const r = await both(`${build}dyn_gdb_target`, script, { sysroot: cross });
    assertLines(r.elfuse, [
      "Breakpoint 1, add (a=0, b=1) at",
      "Value returned is $1 = 1",
      /lib\/libc\.so\.6$/,
      /ld-linux-aarch64\.so\.1$/,
      "exited normally",
    ]);
    if (r.qemu !== undefined) {
      // qemu-user's stub has no vDSO in its link map: compare without that line.
      const noVdso = (t: string) => stable(t).filter((l) => !l.includes("linux-vdso"));
      assert.deepEqual(noVdso(r.elfuse), noVdso(r.qemu));
    }
  },
});

Deno.test({
  name: "gdb: a dynamic program's libraries come through the stub (vFile) without set sysroot",
  ignore: gdb === undefined,
  async fn() {
    const script = ["break add", "continue", "info sharedlibrary", "delete", "continue"];
    const r = await both(`${build}dyn_gdb_target`, script, { sysroot: cross, qemu: false });
    assertLines(r.elfuse, [
      "Breakpoint 1, add (a=0, b=1) at",
      /target:\/lib\/libc\.so\.6$/,
      "exited normally",
    ]);
  },
});

Deno.test({
  name: "gdb: info threads shows the three threads of a threaded program",
  ignore: gdb === undefined,
  async fn() {
    const script = ["break all_started", "continue", "info threads", "delete", "continue"];
    const r = await both(`${build}gdb_threads`, script);
    const threads = (t: string) => t.split("\n").filter((l) => /^\*? +\d+ +Thread/.test(l));
    assert.equal(threads(r.elfuse).length, 3, r.elfuse);
    assertLines(r.elfuse, ["exited normally"]);
    if (r.qemu !== undefined) assert.equal(threads(r.qemu).length, 3, r.qemu);
  },
});

const lldb = found("lldb", ["--version"]) ? "lldb" : undefined;
if (lldb === undefined) {
  console.error("gdb_test.ts: lldb test SKIPPED: no lldb (apt-get install lldb)");
}

Deno.test({
  name: "lldb: gdb-remote, breakpoint, bt, frame variable, registers, finish, continue to the exit",
  ignore: lldb === undefined,
  async fn() {
    const program = `${build}gdb_target`;
    const port = freePort();
    const d = await startDebuggee(`127.0.0.1:${port}`, program, [], ["--gdb-stop-on-entry"]);
    const commands = [
      `gdb-remote ${port}`,
      "breakpoint set -n add",
      "continue",
      "bt",
      "frame variable",
      "register read x1",
      "finish",
      "breakpoint delete 1",
      "continue",
    ];
    const out = await new Deno.Command(lldb!, {
      args: ["--no-lldbinit", "--batch", ...commands.flatMap((c) => ["-o", c]), program],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const r = await d.done();
    assertLines(text, [
      /stop reason = breakpoint 1\.1/,
      /frame #1: .* gdb_target`main\(argc=1, argv=0x[0-9a-f]+\) at gdb_target\.c:28/,
      "(int) a = 0",
      "(int) b = 1",
      /x1 = 0x0000000000000001/,
      "Return value: (int) $0 = 1",
      "exited with status = 0",
    ]);
    assert.equal(r.stdout, "sum 6 counter 5\n");
  },
});
