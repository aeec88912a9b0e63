// elfuse as a library: mod.ts's run() and spawn() as a user's script meets them.
import assert from "node:assert/strict";
import { run, spawn } from "./mod.ts";
import { processesWith } from "./runtime/host/proc_scan.ts";

const repo = new URL("./", import.meta.url).pathname;
const busybox = `${repo}.tools/debs/busybox-static/bin/busybox`;
const fixture = (name: string) => `${repo}fixtures/build/${name}`;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Host processes of this test process's runs still alive (every run's marker starts with our pid). */
const leftovers = () => processesWith("environ", `ELFUSE_RUN=${Deno.pid}-`);

Deno.test("mod.ts: a script that runs forking guests in sequence exits by itself", async () => {
  // The script imports mod.ts as a user's would; a guest that forks used to keep it alive.
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-lib-" });
  const script = `${dir}/user.ts`;
  Deno.writeTextFileSync(
    script,
    `import { run } from ${JSON.stringify(`${repo}mod.ts`)};
for (let i = 0; i < 3; i++) {
  const r = await run(${
      JSON.stringify(busybox)
    }, ["sh", "-c", "echo x$0 | cat; (echo y) | cat", String(i)], { stdout: "piped" });
  console.log(JSON.stringify(new TextDecoder().decode(r.stdout)), r.exitCode);
}
console.log(Deno.cwd());
`,
  );
  // A hang is killed (the test then fails on the status), not timed: no threshold is judged.
  const ac = new AbortController();
  const guard = setTimeout(() => ac.abort(), 120_000);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: ac.signal,
  }).output();
  clearTimeout(guard);
  const cwd = Deno.realPathSync(dir);
  Deno.removeSync(dir, { recursive: true });
  assert.equal(text(out.stderr), "");
  assert.deepEqual(
    { code: out.code, signal: out.signal },
    { code: 0, signal: null },
    "the script ended by itself",
  );
  assert.equal(
    text(out.stdout),
    `"x0\\ny\\n" 0\n"x1\\ny\\n" 0\n"x2\\ny\\n" 0\n${cwd}\n`,
  );
});

Deno.test("run: piped stdout and stderr, stdin from a string, the exit code", async () => {
  const r = await run(busybox, ["sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"], {
    stdin: "hello\n",
    stdout: "piped",
    stderr: "piped",
  });
  assert.equal(text(r.stdout), "HELLO\n");
  assert.equal(text(r.stderr), "oops\n");
  assert.deepEqual([r.code, r.exitCode, r.success, r.timedOut, r.aborted], [
    3,
    3,
    false,
    false,
    false,
  ]);
  // Bytes and a stream as stdin; stdout "null" collects nothing.
  const bytes = await run(busybox, ["wc", "-c"], {
    stdin: new Uint8Array(1000),
    stdout: "piped",
  });
  assert.equal(text(bytes.stdout).trim(), "1000");
  // stdout to a stream of the caller's, as it comes.
  const chunks: Uint8Array[] = [];
  const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
  const streamed = await run(busybox, ["sh", "-c", "echo one; echo two"], { stdout: sink });
  assert.deepEqual([streamed.exitCode, streamed.stdout.length], [0, 0]);
  assert.equal(chunks.map(text).join(""), "one\ntwo\n");
  const none = await run(fixture("hello"), [], { stdout: "null" });
  assert.deepEqual([none.success, none.stdout.length], [true, 0]);
});

Deno.test("run: env, argv0 and cwd reach the guest; the caller's cwd stays", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-cwd-" }));
  const before = Deno.cwd();
  try {
    // argv0 "sh" makes busybox its shell, and the shell's $0.
    const r = await run(busybox, ["-c", 'echo "$0 $FOO $HOME"; pwd'], {
      env: { FOO: "bar" },
      argv0: "sh",
      cwd: dir,
      stdout: "piped",
    });
    assert.equal(text(r.stdout), `sh bar ${Deno.env.get("HOME") ?? ""}\n${dir}\n`);
    assert.equal(Deno.cwd(), before);
    // clearEnv: only what env gives.
    const clean = await run(busybox, ["env"], { clearEnv: true, env: { A: "1" }, stdout: "piped" });
    assert.equal(text(clean.stdout), "A=1\n");
    // A relative program is taken from cwd, as a shell's would be after cd.
    Deno.copyFileSync(fixture("hello"), `${dir}/hi`);
    const rel = await run("./hi", [], { cwd: dir, stdout: "piped" });
    assert.equal(text(rel.stdout), "hello, world\n");
    assert.throws(() => spawn("./hi", [], { cwd: `${dir}/none` }), /no such directory/);
    assert.throws(() => spawn("./hi", [], { timeout: -1 }), /timeout -1: milliseconds/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("run: a guest killed by a signal, a program that is not there", async () => {
  const r = await run(busybox, ["sh", "-c", "kill -SEGV $$"], { stderr: "null" });
  assert.deepEqual([r.signal, r.exitCode, r.success], [11, 139, false]);
  const missing = await run(`${repo}no-such-program`, [], { stderr: "piped" });
  assert.equal(missing.exitCode, 127);
  assert.match(text(missing.stderr), /^elfuse: .*no-such-program: no such file\n$/);
});

Deno.test("run: timeout and abort kill the guest and every process it started", async () => {
  // A shell with a background child and a foreground one: both are host processes of the run.
  const t = await run(busybox, ["sh", "-c", "sleep 600 & sleep 600"], { timeout: 1000 });
  assert.deepEqual([t.timedOut, t.aborted, t.signal, t.exitCode], [true, false, 9, 137]);
  assert.deepEqual(leftovers(), []);

  const ac = new AbortController();
  const p = spawn(busybox, ["sh", "-c", "echo started; sleep 600 & sleep 600"], {
    stdout: "piped",
    signal: ac.signal,
  });
  // Abort once the guest is surely running: after its first line.
  const reader = p.stdout!.getReader();
  const first = await reader.read();
  assert.equal(text(first.value!), "started\n");
  ac.abort();
  const s = await p.status;
  reader.releaseLock();
  await p.stdout!.cancel();
  assert.deepEqual([s.aborted, s.timedOut, s.signal], [true, false, 9]);
  assert.deepEqual(leftovers(), []);

  // An already aborted signal: the run is killed at once.
  const pre = await run(busybox, ["sleep", "600"], { signal: AbortSignal.abort() });
  assert.deepEqual([pre.aborted, pre.signal], [true, 9]);
});
