import { V8_FLAGS_ARG } from "../runtime/v8_flags.ts";
import assert from "node:assert/strict";
import { BUSYBOX_PATH } from "./corpus_busybox.ts";
import { ElfuseRunner, QemuUserRunner, spawnTimed, which } from "./runners.ts";
import { text } from "./status.ts";

Deno.test("spawnTimed: exit status, stdout, stderr and stdin", async () => {
  const r = await spawnTimed("host", {
    cmd: "sh",
    args: ["-c", "cat; echo err >&2; exit 3"],
    stdin: new TextEncoder().encode("piped\n"),
    timeoutSeconds: 10,
  });
  assert.deepEqual(r.status, { kind: "exit", code: 3 });
  assert.equal(text(r.stdout), "piped\n");
  assert.equal(text(r.stderr), "err\n");
  assert.equal(r.timedOut, false);
  assert.ok(r.wallMs > 0);
});

Deno.test("spawnTimed: the signal that ended the process, by name", async () => {
  const r = await spawnTimed("host", {
    cmd: "sh",
    args: ["-c", "kill -SEGV $$"],
    timeoutSeconds: 10,
  });
  assert.deepEqual(r.status, { kind: "signal", name: "SIGSEGV" });
});

Deno.test("spawnTimed: a timeout kills the whole process group", async () => {
  const start = performance.now();
  const r = await spawnTimed("host", {
    cmd: "sh",
    args: ["-c", "sleep 30 & sleep 30; echo never"],
    timeoutSeconds: 0.3,
  });
  assert.equal(r.timedOut, true);
  assert.deepEqual(r.status, { kind: "timeout", seconds: 0.3 });
  assert.ok(performance.now() - start < 5000);
});

Deno.test("spawnTimed: a program that cannot start is an error status", async () => {
  const r = await spawnTimed("host", { cmd: "/nonexistent/prog", args: [], timeoutSeconds: 1 });
  assert.equal(r.status.kind, "error");
});

Deno.test("elfuse runner: deno run -A cli.ts with backend, clean env, workdir", () => {
  const r = new ElfuseRunner("/repo", "unicorn");
  const argv = r.argv({
    program: "/bin/prog",
    args: ["-x", "y"],
    cwd: "/tmp/w",
    env: { A: "1", B: "2" },
    timeoutSeconds: 5,
  });
  assert.deepEqual(argv, [
    "run",
    "-A",
    V8_FLAGS_ARG,
    "/repo/cli.ts",
    "--backend",
    "unicorn",
    "--clear-env",
    "--env",
    "A=1",
    "--env",
    "B=2",
    "--workdir",
    "/tmp/w",
    "--",
    "/bin/prog",
    "-x",
    "y",
  ]);
  assert.equal(
    new ElfuseRunner("/repo").argv({
      program: "/p",
      args: [],
      cwd: "/",
      env: {},
      timeoutSeconds: 1,
    })
      .includes("--backend"),
    false,
  );
});

Deno.test("elfuse runner: a case's sysroot becomes --sysroot before the program", () => {
  const argv = new ElfuseRunner("/repo").argv({
    program: "/root/usr/bin/bash",
    args: ["-c", "true"],
    cwd: "/",
    env: {},
    timeoutSeconds: 1,
    sysroot: "/root",
  });
  const at = argv.indexOf("--sysroot");
  assert.ok(at > 0 && argv[at + 1] === "/root" && at < argv.indexOf("--"), argv.join(" "));
});

const repo = new URL("..", import.meta.url).pathname;
const busybox = `${repo}${BUSYBOX_PATH}`;
const haveQemu = which("qemu-aarch64", "qemu-aarch64-static") !== null;
const haveBusybox = (() => {
  try {
    return Deno.statSync(busybox).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "qemu-user runner runs busybox with the given env, cwd and stdin",
  ignore: !haveQemu || !haveBusybox,
  fn: async () => {
    const q = new QemuUserRunner();
    assert.equal(await q.unavailable(), null);
    const dir = await Deno.realPath(await Deno.makeTempDir());
    try {
      const r = await q.run({
        program: busybox,
        args: ["sh", "-c", 'read x; echo "$x $FOO $(pwd)"; exit 4'],
        stdin: new TextEncoder().encode("in\n"),
        cwd: dir,
        env: { FOO: "bar", PATH: "/bin" },
        timeoutSeconds: 20,
      });
      assert.deepEqual(r.status, { kind: "exit", code: 4 });
      assert.equal(text(r.stdout), `in bar ${dir}\n`);
      const seg = await q.run({
        program: busybox,
        args: ["sh", "-c", "kill -SEGV $$"],
        cwd: dir,
        env: {},
        timeoutSeconds: 20,
      });
      assert.deepEqual(seg.status, { kind: "signal", name: "SIGSEGV" });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
