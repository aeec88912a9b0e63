// The path rules as a guest meets them: static busybox applets run with --sysroot over a fake
// Debian-like root (merged /usr, absolute symlinks), each a single process (no fork needed).
import assert from "node:assert/strict";
import { runCli } from "../testing.ts";

const repo = new URL("../../", import.meta.url).pathname;
const busybox = `${repo}.tools/debs/busybox-static/bin/busybox`;
const haveBusybox = (() => {
  try {
    return Deno.statSync(busybox).isFile;
  } catch {
    return false;
  }
})();

function run(root: string | undefined, ...args: string[]) {
  return runCli(...(root ? ["--sysroot", root] : []), "--clear-env", busybox, ...args);
}

function fakeRoot(): string {
  const r = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-root-" }));
  Deno.mkdirSync(`${r}/usr/lib/aarch64-linux-gnu`, { recursive: true });
  Deno.mkdirSync(`${r}/etc`);
  Deno.writeTextFileSync(`${r}/usr/lib/aarch64-linux-gnu/libc.so.6`, "guest libc\n");
  Deno.writeTextFileSync(`${r}/etc/hostname`, "guest-host\n");
  Deno.symlinkSync("usr/lib", `${r}/lib`);
  Deno.symlinkSync("/usr/lib/aarch64-linux-gnu/libc.so.6", `${r}/usr/lib/libc-abs.so`);
  return r;
}

Deno.test({
  name: "--sysroot: guest system paths, symlinks, .. and getcwd stay in the sysroot",
  ignore: !haveBusybox,
  fn: async () => {
    const r = fakeRoot();
    try {
      let o = await run(r, "cat", "/etc/hostname", "/../../../etc/hostname");
      assert.equal(o.stdout, "guest-host\nguest-host\n", o.stderr);
      o = await run(r, "cat", "/lib/libc-abs.so"); // /lib -> usr/lib, then an absolute link
      assert.equal(o.stdout, "guest libc\n", o.stderr);
      o = await run(r, "realpath", "/lib/libc-abs.so");
      assert.equal(o.stdout, "/usr/lib/aarch64-linux-gnu/libc.so.6\n", o.stderr);
      o = await run(r, "readlink", "/usr/lib/libc-abs.so");
      assert.equal(o.stdout, "/usr/lib/aarch64-linux-gnu/libc.so.6\n", o.stderr);
      o = await run(r, "cat", "/etc/passwd"); // missing in the root: never the host's
      assert.notEqual(o.code, 0);
      o = await run(
        r,
        "sh",
        "-c",
        "cd /lib/aarch64-linux-gnu && pwd -P && cat ../../../etc/hostname",
      );
      assert.equal(o.stdout, "/usr/lib/aarch64-linux-gnu\nguest-host\n", o.stderr);
      o = await run(r, "readlink", "/proc/self/exe");
      assert.equal(o.stdout, `${busybox}\n`, o.stderr);
      // After an execve of a program inside the sysroot, /proc/self/exe is its guest path too.
      Deno.mkdirSync(`${r}/usr/bin`);
      Deno.copyFileSync(busybox, `${r}/usr/bin/busybox`);
      Deno.chmodSync(`${r}/usr/bin/busybox`, 0o755);
      o = await run(r, "sh", "-c", "exec /usr/bin/busybox readlink /proc/self/exe");
      assert.equal(o.stdout, "/usr/bin/busybox\n", o.stderr);
    } finally {
      Deno.removeSync(r, { recursive: true });
    }
  },
});

Deno.test({
  name: "--sysroot: /tmp and the user's own files are the host's; no sysroot, no change",
  ignore: !haveBusybox,
  fn: async () => {
    const r = fakeRoot();
    const tmp = Deno.makeTempDirSync({ dir: "/tmp", prefix: "elfuse-shared-" });
    try {
      Deno.writeTextFileSync(`${tmp}/note`, "host tmp\n");
      let o = await run(r, "cat", `${tmp}/note`, new URL(import.meta.url).pathname);
      assert.ok(o.stdout.startsWith("host tmp\n// The path rules"), o.stderr);
      o = await run(undefined, "cat", "/etc/hostname");
      assert.equal(o.stdout, Deno.readTextFileSync("/etc/hostname"), o.stderr);
    } finally {
      Deno.removeSync(r, { recursive: true });
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});

Deno.test("--sysroot: a bare program name is looked up in the sysroot's PATH first", async () => {
  const r = fakeRoot();
  const hostBin = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-hostbin-" }));
  try {
    // The sysroot's prog prints hello; a host directory first in the guest's PATH (a pyenv shim
    // directory, say) has another prog that exits 42.
    Deno.mkdirSync(`${r}/usr/bin`, { recursive: true });
    Deno.copyFileSync(`${repo}fixtures/build/hello`, `${r}/usr/bin/prog`);
    Deno.copyFileSync(`${repo}fixtures/build/exit42`, `${hostBin}/prog`);
    const out = await runCli("--sysroot", r, "--env", `PATH=${hostBin}:/usr/bin`, "prog");
    assert.deepEqual([out.code, out.stdout], [0, "hello, world\n"]);
    // Without a sysroot the guest's PATH decides, as before.
    const host = await runCli("--env", `PATH=${hostBin}:/usr/bin`, "prog");
    assert.equal(host.code, 42);
    // A name only the host directory has is still found there.
    Deno.renameSync(`${hostBin}/prog`, `${hostBin}/other`);
    const other = await runCli("--sysroot", r, "--env", `PATH=${hostBin}`, "other");
    assert.equal(other.code, 42);
  } finally {
    Deno.removeSync(r, { recursive: true });
    Deno.removeSync(hostBin, { recursive: true });
  }
});
