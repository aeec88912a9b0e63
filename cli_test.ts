// The command line as a user meets it: options, and one-line errors with shell-like exit codes.
import assert from "node:assert/strict";
import { parseCli } from "./cli.ts";
import { makeElf } from "./runtime/elf/testing.ts";

const cli = new URL("./cli.ts", import.meta.url).pathname;

async function elfuse(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function oneLineError(r: { stderr: string }, pattern: RegExp): void {
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^elfuse: /);
  assert.match(lines[0], pattern);
}

Deno.test("options stop at the program; its own options pass through", () => {
  const r = parseCli(["--strace", "--env", "A=1", "prog", "-v", "--strace", "x"]);
  assert.ok(typeof r === "object");
  assert.equal(r.program, "prog");
  assert.deepEqual(r.args, ["-v", "--strace", "x"]);
  assert.equal(r.strace, true);
  assert.equal(r.verbose, false);
  assert.ok(r.env.includes("A=1"));
  const c = parseCli(["--clear-env", "--env", "B=2", "--", "-prog"]);
  assert.ok(typeof c === "object");
  assert.deepEqual(c.env, ["B=2"]);
  assert.equal(c.program, "-prog");
  assert.equal(parseCli(["-h"]), "help");
  assert.equal(parseCli(["-V", "prog"]), "version");
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
      "--timeout",
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
    r = await elfuse(write("x86", makeElf({ machine: 62 })));
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
