// x86-64 programs through box64, as a user meets them: from the command line, through execve
// of an aarch64 shell, and the one-line errors. Needs the x86-64 fixtures (deno task fixtures on
// an x86-64 Linux host) and box64's sysroot (.tools/x86-sysroot, made by ./dev setup); without
// them the tests that run box64 are ignored, and say why.
import assert from "node:assert/strict";
import { runCli, runCliWith } from "../testing.ts";

const repo = new URL("../../", import.meta.url).pathname;
const sysroot = `${repo}.tools/x86-sysroot`;
const hello = `${repo}fixtures/build/x86_hello`;
const helloStatic = `${repo}fixtures/build/x86_hello_static`;
const busybox = `${repo}.tools/debs/busybox-static/bin/busybox`;
const present = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};
const missing = [`${sysroot}/usr/bin/box64`, hello, helloStatic, busybox].filter((p) =>
  !present(p)
);
const ignore = missing.length > 0;
if (ignore) console.error(`x86 run tests ignored: missing ${missing.join(", ")} (./dev setup)`);

function oneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], /^elfuse: /);
  assert.match(lines[0], pattern);
}

Deno.test({
  name: "x86-64: a dynamic program runs through the sysroot's box64, argv as given",
  ignore,
  fn: async () => {
    const r = await runCli("-v", "--sysroot", sysroot, hello, "a", "b c");
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "hello from x86-64: 2 arguments\nargv[1]=a\nargv[2]=b c\n");
    assert.match(r.stderr, /x86-64 program: running it through \/usr\/bin\/box64 \(the sysroot\)/);
    // The same translator named by the environment, with the sysroot still serving its libraries.
    const e = await runCliWith(
      { ELFUSE_X86_TRANSLATOR: `${sysroot}/usr/bin/box64` },
      "--sysroot",
      sysroot,
      hello,
    );
    assert.equal(e.code, 7, e.stderr);
    assert.equal(e.stdout, "hello from x86-64: 0 arguments\n");
  },
});

Deno.test({
  name: "x86-64: box64 runs on the hvf backend's code path too (hvf-sim)",
  ignore,
  fn: async () => {
    const r = await runCli("--backend", "hvf-sim", "--sysroot", sysroot, hello, "sim");
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "hello from x86-64: 1 arguments\nargv[1]=sim\n");
  },
});

Deno.test({
  name: "x86-64: execve of an x86-64 program from an aarch64 shell goes through box64",
  ignore,
  fn: async () => {
    const dir = `${repo}fixtures/build`;
    const script = "./x86_hello one; echo status=$?";
    let r = await runCli("--sysroot", sysroot, "--workdir", dir, busybox, "sh", "-c", script);
    assert.equal(r.stdout, "hello from x86-64: 1 arguments\nargv[1]=one\nstatus=7\n", r.stderr);
    // Refused: execve fails with ENOEXEC, and the shell does what a shell does with that.
    r = await runCli(
      "--no-x86",
      "--sysroot",
      sysroot,
      "--workdir",
      dir,
      busybox,
      "sh",
      "-c",
      script,
    );
    assert.doesNotMatch(r.stdout, /hello from x86-64/);
    assert.doesNotMatch(r.stdout, /status=7/);
    // The choice is run-wide: a fork child started as a host process of its own keeps it.
    const args = ["--sysroot", sysroot, "--workdir", dir, busybox, "sh", "-c", script];
    r = await runCliWith({ ELFUSE_FORK: "process" }, ...args);
    assert.equal(r.stdout, "hello from x86-64: 1 arguments\nargv[1]=one\nstatus=7\n", r.stderr);
    r = await runCliWith({ ELFUSE_FORK: "process" }, "--no-x86", ...args);
    assert.doesNotMatch(r.stdout, /hello from x86-64/);
  },
});

Deno.test({
  name: "x86-64: what cannot run says so in one line with exit status 126",
  ignore,
  fn: async () => {
    const none = { ELFUSE_X86_SYSROOT: `${sysroot}-none` };
    let r = await runCliWith(none, hello); // no sysroot, no box64 where the default one would be
    assert.equal(r.code, 126);
    oneLine(
      r.stderr,
      /x86-64 program: no x86-64 translator \(no --sysroot and no box64 in \S+-none: run elfuse sysroot create --suite sid \S+-none box64 once\)/,
    );
    r = await runCli("--sysroot", sysroot, helloStatic);
    assert.equal(r.code, 126);
    oneLine(r.stderr, /static x86-64 program: box64 cannot run these/);
    r = await runCli("--no-rosetta", "--sysroot", sysroot, hello);
    assert.equal(r.code, 126);
    oneLine(r.stderr, /x86-64 programs are refused/);
    r = await runCli("--x86-translator", helloStatic, "--sysroot", sysroot, hello);
    assert.equal(r.code, 126);
    oneLine(r.stderr, /translator must be an AArch64 program/);
    r = await runCli("--x86-translator", `${sysroot}/nothing`, hello);
    assert.equal(r.code, 126);
    oneLine(r.stderr, /translator .*nothing: no such file/);
  },
});

Deno.test({
  name: "x86-64: without --sysroot, box64's default sysroot serves (ELFUSE_X86_SYSROOT)",
  ignore,
  fn: async () => {
    const r = await runCliWith({ ELFUSE_X86_SYSROOT: sysroot }, "-v", hello, "x");
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "hello from x86-64: 1 arguments\nargv[1]=x\n");
    assert.match(r.stderr, /no --sysroot: box64's sysroot .*x86-sysroot/);
  },
});

const haveScript = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "x86-64: at a terminal, elfuse asks before fetching box64; no means nothing is fetched",
  ignore: ignore || !haveScript,
  fn: async () => {
    const dir = `${Deno.makeTempDirSync()}/x86-root`;
    const elfuse = `${repo}elfuse`;
    // util-linux script(1) gives the run a pseudo-terminal; "n" answers the question.
    const out = await new Deno.Command("/usr/bin/script", {
      args: ["-qec", `${elfuse} ${hello}`, "/dev/null"],
      env: { ELFUSE_X86_SYSROOT: dir },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = out.stdin.getWriter();
    await w.write(new TextEncoder().encode("n\n"));
    await w.close();
    const r = await out.output();
    const text = new TextDecoder().decode(r.stdout);
    assert.equal(r.code, 126, text);
    assert.match(text, /fetch it from Debian \(about 9 MB\) into \S+x86-root .*\[y\/N\]/);
    assert.match(text, /no x86-64 translator/);
    assert.throws(() => Deno.statSync(dir), "nothing was fetched");
    Deno.removeSync(dir.slice(0, -"/x86-root".length), { recursive: true });
  },
});

Deno.test("a 32-bit x86 program: one line, 126", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // An ELF32 header: class 1, little-endian, ET_EXEC, EM_386 (3).
    const b = new Uint8Array(52);
    b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    b[16] = 2;
    b[18] = 3;
    Deno.writeFileSync(`${dir}/i386`, b, { mode: 0o755 });
    const r = await runCli(`${dir}/i386`);
    assert.equal(r.code, 126);
    oneLine(r.stderr, /it is a 32-bit x86 program; elfuse runs 64-bit AArch64 programs/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
