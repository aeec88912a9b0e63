// The command line as a user meets it: options, and one-line errors with shell-like exit codes.
import assert from "node:assert/strict";
import { parseCli, parseSysrootCli } from "./cli.ts";
import { makeElf } from "./runtime/elf/testing.ts";
import { runCli, runCliWith } from "./runtime/testing.ts";

const elfuse = runCli;

function oneLineError(r: { stderr: string }, pattern: RegExp): void {
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^elfuse: /);
  assert.match(lines[0], pattern);
}

Deno.test("options stop at the program; its own options pass through", async () => {
  const r = await parseCli(["--strace", "--env", "A=1", "prog", "-v", "--strace", "x"]);
  assert.ok(typeof r === "object");
  assert.equal(r.program, "prog");
  assert.deepEqual(r.args, ["-v", "--strace", "x"]);
  assert.equal(r.strace, true);
  assert.equal(r.verbose, false);
  assert.ok(r.env.includes("A=1"));
  const c = await parseCli(["--clear-env", "--env", "B=2", "--", "-prog"]);
  assert.ok(typeof c === "object");
  assert.deepEqual(c.env, ["B=2"]);
  assert.equal(c.program, "-prog");
  assert.equal(await parseCli(["-h"]), "help");
  assert.equal(await parseCli(["-V", "prog"]), "version");
  const plain = await parseCli(["prog", "--help"]);
  assert.ok(typeof plain === "object" && plain.program === "prog" && plain.args[0] === "--help");
});

Deno.test("bad options are usage errors (exit 2)", async () => {
  for (
    const args of [["--bogus", "x"], ["--backend", "qemu", "x"], ["--timeout", "soon", "x"], []]
  ) {
    const r = await elfuse(...args);
    assert.equal(r.code, 2, `elfuse ${args.join(" ")}: ${r.stderr}`);
    oneLineError(r, /./);
  }
});

Deno.test("--gdb: a bad place or a missing --gdb is a usage error; a busy port fails in one line", async () => {
  const hello = new URL("./fixtures/build/hello", import.meta.url).pathname;
  for (
    const args of [
      ["--gdb", "nowhere", hello],
      ["--gdb", "70000", hello],
      ["--gdb-stop-on-entry", hello],
    ]
  ) {
    const r = await elfuse(...args);
    assert.equal(r.code, 2, `elfuse ${args.join(" ")}: ${r.stderr}`);
    oneLineError(r, /--gdb/);
  }
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    const r = await elfuse("--gdb", String(port), hello);
    assert.equal(r.code, 1, r.stderr);
    oneLineError(r, new RegExp(`--gdb 127\\.0\\.0\\.1:${port}: `));
  } finally {
    busy.close();
  }
});

Deno.test("--timeout beyond what one timer holds (2^31-1 ms) waits, without a warning", async () => {
  const hello = new URL("./fixtures/build/hello", import.meta.url).pathname;
  for (const seconds of ["2147484", "1e9"]) {
    const r = await elfuse("--timeout", seconds, hello);
    assert.equal(r.stderr, "", `--timeout ${seconds}`);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "hello, world\n");
  }
});

Deno.test("run without Deno's permissions, elfuse names the missing one in one line", async () => {
  const cli = new URL("./cli.ts", import.meta.url).pathname;
  const hello = new URL("./fixtures/build/hello", import.meta.url).pathname;
  for (const granted of [[], ["--allow-env"], ["--allow-env", "--allow-read"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...granted, cli, hello],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const r = { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    assert.equal(r.code, 1, `${granted.join(" ")}: ${r.stderr}`);
    oneLineError(r, /needs Deno's --allow-[a-z]+ permission .*deno run -A/);
  }
});

Deno.test("a standard fd the caller closed stays closed for the guest: EBADF, as on Linux", async () => {
  // Through the launcher: only the shell before Deno can tell a closed fd from /dev/null.
  const launcher = new URL("./elfuse", import.meta.url).pathname;
  const busybox = new URL("./.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;
  const elfuse = `'${launcher}' '${busybox}'`;
  const sh = async (script: string) => {
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  let r = await sh(`${elfuse} echo hi >&-`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /echo: write error: Bad file descriptor/);
  r = await sh(`${elfuse} cat <&-`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cat: read error: Bad file descriptor/);
  // Redirected to /dev/null, the same fds work.
  r = await sh(`${elfuse} echo hi >/dev/null`);
  assert.equal(r.code, 0, r.stderr);
  r = await sh(`${elfuse} cat </dev/null`);
  assert.equal(r.code, 0, r.stderr);
  // Read-write /dev/null (Python's subprocess.DEVNULL, node's "ignore") is /dev/null too.
  r = await sh(`${elfuse} echo hi 1<>/dev/null`);
  assert.equal(r.code, 0, r.stderr);
  r = await sh(`${elfuse} cat 0<>/dev/null`);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("a virtual memory limit too small for the guest's 64 GiB gives one line, not a stack", async () => {
  // 63 GiB: room for Deno itself, not for the slab (MAP_FAILED came back as 2^64 before, which
  // no check caught, and ended in an internal error).
  const launcher = new URL("./elfuse", import.meta.url).pathname;
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `ulimit -v 66000000 && exec '${launcher}' '${fixture("hello")}'`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const r = { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  assert.equal(r.code, 1, r.stderr);
  oneLineError(r, /cannot reserve 64 GiB of address space .*ulimit -v/);
});

Deno.test("--help documents every option the parser accepts", async () => {
  const r = await elfuse("--help");
  assert.equal(r.code, 0);
  for (
    const opt of [
      "--help",
      "--version",
      "--verbose",
      "--backend",
      "--strace",
      "--env",
      "--clear-env",
      "--workdir",
      "--sysroot",
      "--timeout",
      "--strace-file",
      "-U, --unset-env",
      "-0, --argv0",
      "ELFUSE_SYSROOT",
      "--x86-translator",
      "--no-x86",
      "--no-rosetta",
      "ELFUSE_X86_TRANSLATOR",
      "ELFUSE_NO_X86",
      "ELFUSE_VZ_SIGNATURE_FILE",
      "ELFUSE_X86_STANDIN",
      "sysroot create",
      "binfmt install",
    ]
  ) {
    assert.ok(r.stdout.includes(opt), `--help lacks ${opt}`);
  }
});

Deno.test("programs that cannot run give one line and the shell's exit code", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const write = (name: string, bytes: Uint8Array, mode = 0o755) => {
      Deno.writeFileSync(`${dir}/${name}`, bytes, { mode });
      return `${dir}/${name}`;
    };
    let r = await elfuse(`${dir}/missing`);
    assert.equal(r.code, 127);
    oneLineError(r, /no such file/);
    r = await elfuse("elfuse-no-such-command-anywhere");
    assert.equal(r.code, 127);
    oneLineError(r, /command not found/);
    r = await elfuse(write("text", new TextEncoder().encode("hello\n")));
    assert.equal(r.code, 126);
    oneLineError(r, /not an ELF file/);
    // (Where box64's default sysroot would be is empty: ELFUSE_X86_SYSROOT.)
    r = await runCliWith(
      { ELFUSE_X86_SYSROOT: `${dir}/none` },
      write("x86", makeElf({ machine: 62 })),
    );
    assert.equal(r.code, 126);
    oneLineError(r, /x86-64 program/);
    r = await elfuse(write("trunc", makeElf().subarray(0, 100)));
    assert.equal(r.code, 126);
    oneLineError(r, /truncated/);
    r = await elfuse(dir);
    assert.equal(r.code, 126);
    oneLineError(r, /is a directory/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("only a regular file with an execute bit runs, as execve(2) requires (EACCES: 126)", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // Bounded by --timeout: reading a device or opening a FIFO used to never end.
    const run = (...args: string[]) => elfuse("--timeout", "10", ...args);
    for (const dev of ["/dev/zero", "/dev/urandom"]) {
      const r = await run(dev);
      assert.equal(r.code, 126, `${dev}: ${r.stderr}`);
      oneLineError(r, /not a regular file/);
    }
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    let r = await run(`${dir}/fifo`);
    assert.equal(r.code, 126, r.stderr);
    oneLineError(r, /fifo: permission denied: not a regular file/);
    const hello = Deno.readFileSync(new URL("./fixtures/build/hello", import.meta.url));
    Deno.writeFileSync(`${dir}/noexec`, hello, { mode: 0o644 });
    r = await run(`${dir}/noexec`);
    assert.equal(r.code, 126, r.stderr);
    oneLineError(r, /noexec: permission denied/);
    assert.equal(r.stdout, "");
    // The loader a program names is held to the same rule.
    for (const interp of ["/dev/zero", `${dir}/fifo`, `${dir}/noexec`]) {
      const b = makeElf({
        type: 3,
        segs: [
          { offset: 0, vaddr: 0, filesz: 0x300, memsz: 0x300 },
          { type: 3, offset: 0x200, vaddr: 0x200, filesz: interp.length + 1, memsz: 0 },
        ],
      });
      b.set(new TextEncoder().encode(interp), 0x200);
      Deno.writeFileSync(`${dir}/dyn`, b, { mode: 0o755 });
      r = await run(`${dir}/dyn`);
      assert.equal(r.code, 126, `${interp}: ${r.stderr}`);
      oneLineError(r, /dyn: its dynamic loader .*: permission denied/);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("guest data in an error message cannot add lines: control characters are escaped", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    let r = await elfuse(`${dir}/two\nlines`);
    assert.equal(r.code, 127);
    oneLineError(r, /two\\nlines: no such file/);
    const b = makeElf({
      type: 3,
      segs: [
        { offset: 0, vaddr: 0, filesz: 0x300, memsz: 0x300 },
        { type: 3, offset: 0x200, vaddr: 0x200, filesz: 32, memsz: 0 },
      ],
    });
    b.set(new TextEncoder().encode("/lib/ld\nsecond line\x1b[0m"), 0x200);
    Deno.writeFileSync(`${dir}/dyn`, b, { mode: 0o755 });
    r = await elfuse(`${dir}/dyn`);
    assert.equal(r.code, 127);
    oneLineError(r, /dynamic loader \/lib\/ld\\nsecond line\\x1b\[0m is not on this host/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--sysroot: a bad directory is a usage error; without one a dynamic program says why", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    let r = await elfuse("--sysroot", `${dir}/none`, "/bin/true");
    assert.equal(r.code, 2);
    oneLineError(r, /--sysroot .*no such directory/);
    // --workdir and ELFUSE_SYSROOT naming a missing directory: the same kind of error and status.
    r = await elfuse("--workdir", `${dir}/none`, "/bin/true");
    assert.equal(r.code, 2);
    oneLineError(r, /^elfuse: --workdir .*\/none: no such directory$/);
    r = await runCliWith({ ELFUSE_SYSROOT: `${dir}/none` }, "/bin/true");
    assert.equal(r.code, 2);
    oneLineError(r, /^elfuse: ELFUSE_SYSROOT .*\/none: no such directory$/);
    Deno.writeTextFileSync(`${dir}/file`, "");
    r = await elfuse("--sysroot", `${dir}/file`, "/bin/true");
    assert.equal(r.code, 2);
    oneLineError(r, /not a directory/);
    const dyn = new URL("./fixtures/build/dyn_hello", import.meta.url).pathname;
    r = await elfuse(dyn);
    assert.equal(r.code, 127);
    oneLineError(r, /dynamic loader \/lib\/ld-linux-aarch64.so.1 is not on this host.*--sysroot/);
    r = await elfuse("--sysroot", dir, dyn);
    assert.equal(r.code, 127);
    oneLineError(r, /is not in the sysroot/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("sysroot create: usage and bad input give one line", async () => {
  assert.deepEqual(await parseSysrootCli(["create", "--suite", "trixie", "d", "bash", "sed"]), {
    dir: "d",
    packages: ["bash", "sed"],
    suite: "trixie",
    arch: undefined,
    only: false,
  });
  assert.deepEqual(await parseSysrootCli(["create", "--arch", "amd64", "--only", "d", "bash"]), {
    dir: "d",
    packages: ["bash"],
    suite: undefined,
    arch: "amd64",
    only: true,
  });
  await assert.rejects(
    () => parseSysrootCli(["create", "--arch", "x86_64", "d", "bash"]),
    /^ElfuseError: sysroot create: unknown --arch 'x86_64' \(use arm64 or amd64\)$/,
  );
  assert.equal(await parseSysrootCli(["create", "--help"]), "help");
  assert.equal(await parseSysrootCli(["--help"]), "help");
  const help = await elfuse("sysroot", "create", "--help");
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /^usage: elfuse sysroot create \[--suite SUITE\] \[--arch ARCH\] \[--only\] DIR PACKAGE\.\.\.\n/,
  );
  assert.equal(help.stderr, "");
  // parseArgs's own message, cut to its first sentence: no dangling quote.
  const bad = await elfuse("sysroot", "create", "--bogus", "d", "x");
  assert.equal(bad.code, 2);
  oneLineError(bad, /^elfuse: sysroot create: Unknown option '--bogus' \(usage: .*\)$/);
  await assert.rejects(() => parseSysrootCli(["create", "d"]), /usage: elfuse sysroot create/);
  await assert.rejects(() => parseSysrootCli(["make", "d", "x"]), /unknown command 'make'/);
  const dir = Deno.makeTempDirSync();
  try {
    for (
      const args of [["sysroot"], ["sysroot", "create", dir], [
        "sysroot",
        "create",
        "--x",
        dir,
        "a",
      ]]
    ) {
      const r = await elfuse(...args);
      assert.equal(r.code, 2, args.join(" "));
      oneLineError(r, /usage: elfuse sysroot create/);
    }
    Deno.writeTextFileSync(`${dir}/file`, "");
    let r = await elfuse("sysroot", "create", `${dir}/file`, "bash");
    assert.equal(r.code, 2);
    oneLineError(r, /is not a directory/);
    r = await elfuse("sysroot", "create", dir, "Not_A_Package!");
    assert.equal(r.code, 2);
    oneLineError(r, /is not a package name/);
    r = await elfuse("sysroot", "create", "--arch", "s390x", `${dir}/new`, "bash");
    assert.equal(r.code, 2);
    oneLineError(r, /unknown --arch 's390x' \(use arm64 or amd64\)/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("-v reports the backend and the start-up by phase", async () => {
  const hello = new URL("./fixtures/build/hello", import.meta.url).pathname;
  const r = await elfuse("-v", hello);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "hello, world\n");
  const loaded = r.stderr.split("\n").find((l) => l.startsWith("elfuse: loaded in "));
  assert.ok(loaded, r.stderr);
  const phases =
    /\(after [\d.]+ ms of Deno and elfuse's modules: program ([\d.]+), slab ([\d.]+), backend ([\d.]+), image and vCPU ([\d.]+)\); starting at 0x[0-9a-f]+$/
      .exec(loaded);
  assert.ok(phases, loaded);
  const total = Number(/loaded in ([\d.]+) ms/.exec(loaded)![1]);
  const sum = phases.slice(1).reduce((a, b) => a + Number(b), 0);
  assert.ok(Math.abs(sum - total) < 0.5, `phases add up to the total: ${sum} vs ${total}`);
});

const fixture = (name: string) => new URL(`./fixtures/build/${name}`, import.meta.url).pathname;
const busybox = new URL("./.tools/debs/busybox-static/bin/busybox", import.meta.url).pathname;

Deno.test("-0/--argv0, -U/--unset-env and ELFUSE_SYSROOT, as qemu-user's -0, -U, QEMU_LD_PREFIX", async () => {
  const r = await parseCli(["-0", "first", "-U", "HOME", "--unset-env", "PATH", "prog", "x"]);
  assert.ok(typeof r === "object");
  assert.equal(r.argv0, "first");
  assert.equal(r.program, "prog");
  assert.deepEqual(r.args, ["x"]);
  assert.ok(!r.env.some((e) => e.startsWith("HOME=") || e.startsWith("PATH=")));
  const plain = await parseCli(["prog"]);
  assert.ok(typeof plain === "object" && plain.argv0 === "prog" && plain.sysroot === undefined);
  await assert.rejects(
    () => parseCli(["-U", "A=1", "prog"]),
    /--unset-env takes a variable's name/,
  );
  // The guest sees them: busybox dispatches on argv[0]; env prints what is left.
  let out = await runCliWith(
    { ELFUSE_T1: "one", ELFUSE_T2: "two" },
    "-0",
    "echo",
    "-U",
    "ELFUSE_T1",
    busybox,
    "$ELFUSE_T2",
  );
  assert.equal(out.stdout, "$ELFUSE_T2\n", out.stderr);
  out = await runCliWith({ ELFUSE_T1: "one", ELFUSE_T2: "two" }, "-U", "ELFUSE_T1", busybox, "env");
  assert.match(out.stdout, /^ELFUSE_T2=two$/m);
  assert.doesNotMatch(out.stdout, /ELFUSE_T1/);
  // ELFUSE_SYSROOT stands for --sysroot; the option wins over it.
  const dyn = fixture("dyn_hello");
  out = await runCliWith({ ELFUSE_SYSROOT: "/usr/aarch64-linux-gnu" }, dyn);
  assert.equal(out.code, 0, out.stderr);
  out = await runCliWith(
    { ELFUSE_SYSROOT: "/nonexistent" },
    "--sysroot",
    "/usr/aarch64-linux-gnu",
    dyn,
  );
  assert.equal(out.code, 0, out.stderr);
});

Deno.test("a #! script at the top level runs through its interpreter, as execve runs it", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const script = `${dir}/show.sh`;
    Deno.writeTextFileSync(script, `#!${busybox} sh\necho "$0|$1|$2"\n`, { mode: 0o755 });
    let r = await elfuse(script, "a b", "c");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${script}|a b|c\n`);
    // "#!interpreter one argument": the rest of the line is one argument.
    const printer = `${dir}/args`;
    Deno.writeTextFileSync(printer, `#!${fixture("args")} one two\n`, { mode: 0o755 });
    r = await elfuse(printer, "x");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /one two/);
    Deno.writeTextFileSync(`${dir}/bad`, "#!/nonexistent/interp\n", { mode: 0o755 });
    r = await elfuse(`${dir}/bad`);
    assert.equal(r.code, 126);
    oneLineError(r, /bad interpreter \/nonexistent\/interp: no such file/);
    Deno.writeTextFileSync(`${dir}/loop`, `#!${dir}/loop\n`, { mode: 0o755 });
    r = await elfuse(`${dir}/loop`);
    assert.equal(r.code, 126);
    oneLineError(r, /too many levels of #! interpreters/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--strace-file: decoded flags, [pid N] once there are two processes, no NaN", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/trace`;
    // Fork children as host processes: each appends to the file from its own elfuse (and none
    // starts a pid holder, which inline_fork_test.ts counts machine-wide while tests run).
    const r = await runCliWith(
      { ELFUSE_FORK: "process" },
      "--strace-file",
      file,
      busybox,
      "sh",
      "-c",
      "echo hi | cat; exit 3",
    );
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "hi\n");
    assert.doesNotMatch(r.stderr, /\(.*\) = /, "the trace is not on stderr");
    const lines = Deno.readTextFileSync(file).trimEnd().split("\n");
    assert.ok(lines.length > 20, `${lines.length} lines`);
    // The first process alone: no prefix; once it has forked, every line of both has one.
    assert.match(lines[0], /^execve|^[a-z_0-9]+\(/);
    const clone = lines.findIndex((l) => / clone\(/.test(l));
    assert.ok(clone > 0, "a clone line");
    assert.match(
      lines[clone],
      /^\[pid \d+\] clone\(CLONE_CHILD_CLEARTID\|CLONE_CHILD_SETTID\|SIGCHLD, /,
    );
    assert.ok(lines.slice(0, clone).every((l) => !l.startsWith("[pid")), "no prefix before");
    const pids = new Set(
      lines.filter((l) => l.startsWith("[pid")).map((l) => /^\[pid (\d+)\]/.exec(l)![1]),
    );
    assert.ok(pids.size >= 3, `parent and two children: ${[...pids]}`);
    // execve's result is x0 as the handler left it, not NaN.
    assert.ok(lines.some((l) => /\] execve\("\/proc\/self\/exe", .*\) = 0$/.test(l)), "execve = 0");
    assert.ok(lines.every((l) => !/NaN/.test(l)));
    assert.ok(lines.some((l) => /wait4\(-1, 0x[0-9a-f]+, WNOHANG, NULL\) = -1 ECHILD$/.test(l)));
    assert.ok(
      lines.some((l) =>
        /mmap\(0x0, \d+, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, /.test(l)
      ),
    );
    const st = await elfuse("--strace", fixture("hello"));
    assert.match(st.stderr, /^mprotect\(0x[0-9a-f]+, \d+, PROT_READ\) = 0$/m);
    assert.match(st.stderr, /^newfstatat\(1, "", 0x[0-9a-f]+, AT_EMPTY_PATH\) = 0$/m);
    assert.match(st.stderr, /^exit_group\(0\) = \?$/m);
    const bad = await elfuse("--strace-file", `${dir}/no/such/dir/trace`, fixture("hello"));
    assert.equal(bad.code, 2);
    oneLineError(bad, /^elfuse: --strace-file .*: /);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--strace: a thread's lines say [tid N], and its clone shows CLONE_THREAD", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/trace`;
    const r = await elfuse("--strace-file", file, fixture("thread_sync"));
    assert.equal(r.code, 0, r.stderr);
    const lines = Deno.readTextFileSync(file).trimEnd().split("\n");
    const clone = lines.find((l) => / clone\(/.test(l));
    assert.ok(clone, "a clone line");
    assert.match(clone, /^\[tid \d+\] clone\(CLONE_VM\|.*\|CLONE_THREAD\|/);
    const tids = new Set(lines.flatMap((l) => /^\[tid (\d+)\]/.exec(l)?.[1] ?? []));
    assert.ok(tids.size >= 2, `lines from several threads: ${[...tids]}`);
    assert.ok(lines.every((l) => !l.startsWith("[pid")), "one process: no [pid N]");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
