// Fork children run in-process first (inline_fork.ts) or as host processes (ELFUSE_FORK=process,
// and whenever a child moves out): both paths must give the same results, and neither may leave
// host processes behind.
import assert from "node:assert/strict";
import { runCliWith } from "../testing.ts";
import { processesWith } from "../host/proc_scan.ts";

const fixture = (name: string) => new URL(`../../fixtures/build/${name}`, import.meta.url).pathname;

for (const mode of ["inline", "process"]) {
  Deno.test(`fork children (${mode}): pipes, waits and statuses`, async () => {
    const env: Record<string, string> = mode === "process" ? { ELFUSE_FORK: "process" } : {};
    for (const name of ["proc_pipe", "proc_wait"]) {
      const r = await runCliWith(env, fixture(name));
      assert.match(r.stdout, /\n\d+ passed, 0 failed\n$/, `${name} (${mode}):\n${r.stdout}`);
      assert.equal(r.code, 0);
    }
  });
}

Deno.test({
  name: "no pid holder outlives its guest",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // Other checkouts on the machine start and end holders meanwhile: count only the holders of
    // this test's runs, which carry its environment marker (every host process elfuse starts
    // inherits elfuse's environment). A decoy stands for someone else's holder.
    const mark = `ELFUSE_TEST_MARK=${crypto.randomUUID()}`;
    const [key, value] = mark.split("=");
    const holders = () => {
      const marked = new Set(processesWith("environ", mark));
      return processesWith("cmdline", "elfuse-pid-holder").filter((p) => marked.has(p));
    };
    const decoy = new Deno.Command("/bin/sh", {
      args: ["-c", "sleep 60", "elfuse-pid-holder"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      // The count does see this test's holders: one exists while a guest shell runs a child.
      const sh = new URL("../../.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
      const cli = new URL("../../cli.ts", import.meta.url).pathname;
      const guest = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, sh, "sh", "-c", "sleep 3; true"],
        env: { [key]: value },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      let seen: number[] = [];
      for (let i = 0; i < 100 && seen.length === 0; i++) {
        seen = holders();
        if (seen.length === 0) await new Promise((ok) => setTimeout(ok, 20));
      }
      await guest.status;
      assert.ok(seen.length > 0, "a running guest's pid holder carries the marker");

      const r = await runCliWith({ [key]: value }, fixture("fork_loop"), "20");
      assert.equal(r.stdout, "fork_loop 20 ok\n");
      // The spare holder sees its command pipe close when elfuse exits; give it a moment.
      let left: number[] = [];
      for (let i = 0; i < 50; i++) {
        left = holders();
        if (left.length === 0) break;
        await new Promise((ok) => setTimeout(ok, 20));
      }
      assert.deepEqual(left, []);
    } finally {
      decoy.kill("SIGKILL");
      await decoy.status;
    }
  },
});

Deno.test({
  name: "a child that computes without syscalls moves out and lets its parent go on",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // The subshell's loop makes no syscall (busybox arithmetic): only an interrupt can move it
    // out after its 200 ms in-process slice; before that, the parent waited for the whole loop.
    const sh = new URL("../../.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
    const script = "( i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done; echo child ) & " +
      "echo parent; wait";
    const r = await runCliWith({}, sh, "sh", "-c", script);
    assert.equal(r.stdout, "parent\nchild\n");
    assert.equal(r.code, 0);
  },
});

Deno.test("children exec'ing different programs at the same address run the new code", async () => {
  // busybox, exit42 and hello are all static at 0x400000: translated code must not leak across.
  const sh = new URL("../../.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
  const script = `${fixture("exit42")}; echo $?; ${fixture("hello")}; ${
    fixture("exit42")
  }; echo $?`;
  const r = await runCliWith({}, sh, "sh", "-c", script);
  assert.equal(r.stdout, "atexit ran\n42\nhello, world\natexit ran\n42\n");
  assert.equal(r.code, 0);
});

Deno.test({
  name: "--timeout ends the guest's processes too, children that moved out included",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const mark = `ELFUSE_TEST_MARK=${crypto.randomUUID()}`;
    const [key, value] = mark.split("=");
    const sh = new URL("../../.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
    // Wait for elfuse itself, not for its output: a stray child would hold the pipes open.
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const script = "(sleep 30; echo late) & sleep 30 & wait";
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "--timeout", "3", sh, "sh", "-c", script],
      env: { [key]: value },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const status = await child.status;
    assert.equal(status.code, 124);
    let left: number[] = [];
    for (let i = 0; i < 50; i++) {
      left = processesWith("environ", mark).filter((p) => p !== Deno.pid);
      if (left.length === 0) break;
      await new Promise((ok) => setTimeout(ok, 20));
    }
    assert.deepEqual(left, []);
  },
});

Deno.test("a program file rewritten between two execs runs its new contents", async () => {
  const sh = new URL("../../.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
  const dir = Deno.makeTempDirSync();
  try {
    const p = `${dir}/prog`;
    const script = `cp ${fixture("hello")} ${p}; ${p}; cp ${fixture("exit42")} ${p}; ${p}; echo $?`;
    const r = await runCliWith({}, sh, "sh", "-c", script);
    assert.equal(r.stdout, "hello, world\natexit ran\n42\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "Ctrl-C reaches a child that runs in-process and never blocks",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // Its own process group, as a terminal's foreground job would be; SIGINT goes to the group.
    const sh = new URL("../../.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const script = 'trap "echo trapped" INT; yes > /dev/null; echo "after $?"';
    const child = new Deno.Command("setsid", {
      args: [Deno.execPath(), "run", "-A", cli, sh, "sh", "-c", script],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    await new Promise((ok) => setTimeout(ok, 2000));
    Deno.kill(-child.pid, "SIGINT");
    const guard = setTimeout(() => Deno.kill(-child.pid, "SIGKILL"), 10000);
    const out = await child.output();
    clearTimeout(guard);
    assert.equal(new TextDecoder().decode(out.stdout), "trapped\nafter 130\n");
  },
});

Deno.test("credential calls that change nothing leave a fork child in-process", async () => {
  // posix_spawn children call setresuid(-1, euid, -1) and the like (make spawns many): ids are
  // emulated per process, so they cost no host process. setpgid shows that a move is seen.
  const moves = /fork child \d+ moves to a process of its own/;
  const still = await runCliWith({}, "-v", fixture("credentials"), "noop");
  assert.match(still.stdout, /\n\d+ passed, 0 failed\n$/, still.stdout);
  assert.doesNotMatch(still.stderr, moves);
  const moved = await runCliWith({}, "-v", fixture("credentials"), "setpgid");
  assert.match(moved.stdout, /\n\d+ passed, 0 failed\n$/, moved.stdout);
  assert.match(moved.stderr, moves);
});
