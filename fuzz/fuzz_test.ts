// The fuzzers: the quick fixed-seed campaign (what ./dev test runs), and the pieces it relies on:
// reproducible recipes, the judge, and a sandbox that keeps guests away from host objects.
import assert from "node:assert/strict";
import { QUICK, runFuzz, summary } from "./cli.ts";
import { apply, describeRecipe, type ElfBase, recipe } from "./elf_mutator.ts";
import { commonFailures, multiLineError } from "./judge.ts";
import { syscallPlan } from "./plan.ts";
import { openSandbox, type RunResult } from "./sandbox.ts";

const busybox = new URL("../.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
const linux = Deno.build.os === "linux";

Deno.test({
  name: "quick fuzz run (seed 1): ELF mutants, random syscalls, the extremes walk find nothing",
  ignore: !linux,
  fn: async () => {
    const r = await runFuzz(QUICK);
    const text = summary(r, QUICK);
    console.log(text);
    assert.ok(r.elf.mutants >= 20, text);
    // A child that dies before its first call skips that call: nearly all are made.
    assert.ok(r.syscalls.calls >= QUICK.syscalls * 0.95, text);
    // Every implemented syscall (clone and clone3 are the random campaign's) with all its
    // arguments at each of the 15 extreme values, and each argument alone at the first 5.
    const implemented = syscallPlan().filter((e) => e.implemented).length;
    assert.ok(r.extremes.calls >= (implemented - 2) * 15, text);
    assert.deepEqual([...r.elf.findings, ...r.syscalls.findings, ...r.extremes.findings], [], text);
  },
});

Deno.test("an ELF recipe is a pure function of seed, index and base; any subset applies", () => {
  const bytes = new Uint8Array(4096).map((_, i) => i & 0xff);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  new DataView(bytes.buffer).setBigUint64(32, 64n, true);
  new DataView(bytes.buffer).setUint16(56, 3, true);
  const base: ElfBase = { name: "b", bytes };
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const a = recipe(5, i, base), b = recipe(5, i, base);
    assert.deepEqual(a, b);
    assert.deepEqual(apply(bytes, a), apply(bytes, b));
    assert.ok(a.length >= 1 && a.length <= 3);
    seen.add(describeRecipe(a));
    for (const e of a) apply(bytes, [e]); // each edit alone is valid input to apply
  }
  assert.ok(seen.size > 40, "recipes differ from one index to the next");
  assert.notDeepEqual(recipe(5, 0, base), recipe(6, 0, base));
});

const run = (over: Partial<RunResult>): RunResult => ({
  code: 0,
  signal: undefined,
  stdout: "",
  stderr: "",
  timedOut: false,
  strays: [],
  peakBytes: 0,
  ms: 10,
  ...over,
});

Deno.test("the judge: one-line refusals and guest results pass; elfuse's own failures do not", () => {
  assert.deepEqual(
    commonFailures(run({ code: 126, stderr: "elfuse: x: cannot execute: y\n" })),
    [],
  );
  assert.equal(
    multiLineError(run({ code: 126, stderr: "elfuse: x: cannot execute: y\n" })),
    undefined,
  );
  const kinds = (r: RunResult) => commonFailures(r).map((f) => f.kind);
  assert.deepEqual(
    kinds(
      run({
        code: 70,
        stderr: "elfuse: internal error: TypeError: x\n    at f (file:///a.ts:1:2)\n",
      }),
    ),
    ["internal error"],
  );
  assert.deepEqual(
    kinds(
      run({ code: 1, stderr: "error: Uncaught (in promise) X\n    at f (file:///a.ts:1:2)\n" }),
    ),
    [
      "stack trace",
      "host crash",
    ],
  );
  assert.deepEqual(kinds(run({ timedOut: true, ms: 9000 })), ["hang"]);
  const unicornAbort = "deno: ../qemu/exec.c:1000: phys_section_add: Assertion `x' failed.\n";
  assert.deepEqual(kinds(run({ signal: "SIGABRT", stderr: unicornAbort })), ["host crash"]);
  const guestAssert =
    "Inconsistency detected by ld.so: rtld.c: 1291: rtld_setup_main_map: Assertion `x' failed!\n";
  assert.deepEqual(kinds(run({ code: 127, stderr: guestAssert })), []);
  assert.deepEqual(kinds(run({ strays: [123] })), ["stray process"]);
  assert.deepEqual(kinds(run({ signal: "SIGKILL", peakBytes: 2 ** 40 })), ["memory"]);
  assert.equal(
    multiLineError(run({ code: 126, stderr: "elfuse: /lib/ld\nsecond line: no such file\n" }))
      ?.kind,
    "multi-line error",
  );
});

Deno.test("the syscall plan keeps pids, memory ranges, sizes and the fuzzer's own fds safe", () => {
  const kinds = new Map(syscallPlan().map((e) => [e.name, e.kinds.join("")]));
  for (
    const [name, first] of [["kill", "P"], ["tgkill", "PP"], ["setpgid", "PP"], ["prlimit64", "P"]]
  ) {
    assert.ok(kinds.get(name)!.startsWith(first), `${name}: ${kinds.get(name)}`);
  }
  for (const name of ["mmap", "munmap", "mprotect", "mremap", "madvise"]) {
    assert.ok(kinds.get(name)!.startsWith("AL"), `${name}: ${kinds.get(name)}`);
  }
  assert.equal(kinds.get("getpriority"), "WU----");
  assert.equal(kinds.get("fallocate"), "fiSS--");
  assert.equal(kinds.get("close_range"), "iFi---");
  assert.equal(kinds.get("brk"), "B-----");
  for (const e of syscallPlan()) assert.ok(e.kinds.length === 6, e.name);
  // No garbage socket address ever leaves the sandbox.
  for (const name of ["connect", "sendto", "sendmsg", "bind", "listen"]) {
    const e = syscallPlan().find((x) => x.name === name)!;
    assert.ok(e.offLimits && e.weight === 0, name);
  }
  // Nor does a host IPC object that would outlive the run.
  for (const name of ["semget", "msgget", "shmget", "mq_open"]) {
    const e = syscallPlan().find((x) => x.name === name)!;
    assert.ok(e.offLimits && e.weight === 0, name);
  }
});

Deno.test({
  name:
    "a sandboxed guest runs unprivileged (when root), in a temporary directory, with pipes as stdio",
  ignore: !linux,
  fn: async () => {
    const sb = openSandbox();
    try {
      const dir = sb.workdir("t");
      const r = await sb.run({
        elfuseArgs: [
          busybox,
          "sh",
          "-c",
          "id -u; pwd; stat -L -c %F /proc/self/fd/0 /proc/self/fd/1",
        ],
        cwd: dir,
        timeoutMs: 30_000,
      });
      const [uid, cwd, stdin, stdout] = r.stdout.trim().split("\n");
      assert.equal(uid, Deno.uid() === 0 ? "65534" : String(Deno.uid()), r.stderr);
      assert.equal(cwd, dir);
      assert.equal(stdin, "fifo");
      assert.equal(stdout, "fifo");
    } finally {
      sb.close();
    }
  },
});

Deno.test({
  name:
    "found by the fuzzer: a fork child from a spare cannot enter a directory without search permission, and goes on",
  ignore: !linux,
  fn: async () => {
    const sb = openSandbox();
    try {
      // The first fork starts a spare here; the second one hands it a cwd it may not enter.
      const script = "mkdir sub; (true); cd sub; chmod 0 .; (exit 3); echo $?";
      const r = await sb.run({
        elfuseArgs: [busybox, "sh", "-c", script],
        cwd: sb.workdir("t"),
        env: { ELFUSE_FORK: "process" },
        timeoutMs: 60_000,
      });
      assert.deepEqual(commonFailures(r), [], r.stderr);
      assert.equal(r.stdout, "3\n", r.stderr);
    } finally {
      sb.close();
    }
  },
});
