import assert from "node:assert/strict";
import { debianRegistration } from "./binfmt_ci.ts";

const tool = new URL("./binfmt_ci.ts", import.meta.url).pathname;

async function run(env: Record<string, string>, ...args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", tool, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

Deno.test("debianRegistration reads qemu-user-binfmt's file, else registers qemu with flag P", () => {
  const debian =
    "package qemu-user-binfmt\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n" +
    "magic \\x7f\\x45\noffset 0\ncredentials no\nfix_binary no\npreserve yes\n";
  assert.deepEqual(debianRegistration(debian, "/usr/bin/qemu-aarch64"), {
    interpreter: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P",
    flags: "P",
  });
  assert.deepEqual(
    debianRegistration(debian.replace("fix_binary no", "fix_binary yes"), null)?.flags,
    "PF",
  );
  assert.deepEqual(debianRegistration(null, "/usr/bin/qemu-aarch64-static"), {
    interpreter: "/usr/bin/qemu-aarch64-static",
    flags: "P",
  });
  assert.equal(debianRegistration(null, null), null);
});

Deno.test("binfmt_ci: usage errors, status, and a state that needs no change runs the command", async () => {
  const root = await Deno.makeTempDir();
  try {
    const env = { ELFUSE_BINFMT_ROOT: root };
    let r = await run(env, "sideways", "--", "true");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^usage: /);
    r = await run(env, "none", "true");
    assert.equal(r.code, 2);
    r = await run(env, "status");
    assert.equal(r.code, 0);
    assert.match(r.stderr, /binfmt_ci: binfmt_misc is not mounted at /);
    // Nothing claims aarch64 programs: "none" needs no change and no root, and passes on the
    // command's exit status.
    await Deno.writeTextFile(`${root}/status`, "enabled\n");
    r = await run(env, "none", "--", "sh", "-c", "echo ran; exit 3");
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "ran\n");
    assert.match(r.stderr, /running with: no binfmt_misc entry for aarch64 programs/);
    assert.match(r.stderr, /restored: no binfmt_misc entry for aarch64 programs/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
