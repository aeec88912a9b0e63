import assert from "node:assert/strict";
import { E } from "../kernel/errno.ts";
import { Sysroot } from "./resolve.ts";

/** A Debian-like merged-/usr root: /lib -> usr/lib, an absolute link, a loop, a home dir. */
function fakeRoot(): string {
  const r = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-sysroot-" }));
  Deno.mkdirSync(`${r}/usr/lib/aarch64-linux-gnu`, { recursive: true });
  Deno.mkdirSync(`${r}/etc`);
  Deno.mkdirSync(`${r}/srv/data`, { recursive: true });
  Deno.writeTextFileSync(`${r}/usr/lib/aarch64-linux-gnu/libc.so.6`, "libc");
  Deno.writeTextFileSync(`${r}/etc/hostname`, "guest");
  Deno.symlinkSync("usr/lib", `${r}/lib`);
  Deno.symlinkSync("/usr/lib/aarch64-linux-gnu/libc.so.6", `${r}/usr/lib/libc-abs.so`);
  Deno.symlinkSync("loop-b", `${r}/etc/loop-a`);
  Deno.symlinkSync("loop-a", `${r}/etc/loop-b`);
  return r;
}

Deno.test("sysroot: merged-/usr and absolute symlinks resolve inside the root", () => {
  const r = fakeRoot();
  const sr = new Sysroot(r);
  assert.equal(
    sr.hostPath("/lib/aarch64-linux-gnu/libc.so.6"),
    `${r}/usr/lib/aarch64-linux-gnu/libc.so.6`,
  );
  assert.equal(sr.hostPath("/lib/libc-abs.so"), `${r}/usr/lib/aarch64-linux-gnu/libc.so.6`);
  // Not following the last component leaves the link itself (lstat, readlink, unlink).
  assert.equal(sr.hostPath("/lib/libc-abs.so", false), `${r}/usr/lib/libc-abs.so`);
  assert.equal(sr.hostPath("/etc/loop-a"), -E.ELOOP);
  Deno.removeSync(r, { recursive: true });
});

Deno.test("sysroot: system prefixes never reach the host, .. stops at the root", () => {
  const r = fakeRoot();
  const sr = new Sysroot(r);
  assert.equal(sr.hostPath("/etc/passwd"), `${r}/etc/passwd`); // missing, yet not the host's
  assert.equal(sr.hostPath("/usr/bin/nothing"), `${r}/usr/bin/nothing`);
  assert.equal(sr.hostPath("/../../etc/hostname"), `${r}/etc/hostname`);
  assert.equal(sr.hostPath("/usr/../../../etc"), `${r}/etc`);
  assert.equal(sr.hostPath("/"), `${r}/`);
  Deno.removeSync(r, { recursive: true });
});

Deno.test("sysroot: /tmp and /dev are the host's; other paths fall through when missing", () => {
  const r = fakeRoot();
  const sr = new Sysroot(r);
  assert.equal(sr.hostPath("/tmp/x"), "/tmp/x");
  assert.equal(sr.hostPath("/dev/null"), "/dev/null");
  assert.equal(sr.hostPath("/home/user/project/a.txt"), "/home/user/project/a.txt");
  assert.equal(sr.hostPath("/srv/data"), `${r}/srv/data`); // present in the root: the root's
  // A new file in a directory the root has: the root's.
  assert.equal(sr.hostPath("/srv/data/new-file"), `${r}/srv/data/new-file`);
  assert.equal(sr.hostPath("/usr/../tmp/y"), "/tmp/y");
  Deno.removeSync(r, { recursive: true });
});

Deno.test("sysroot: guest paths strip the prefix; bad roots are refused", () => {
  const r = fakeRoot();
  const sr = new Sysroot(`${r}/`);
  assert.equal(sr.guestPath(`${r}/usr/lib`), "/usr/lib");
  assert.equal(sr.guestPath(r), "/");
  assert.equal(sr.guestPath(`${r}x/usr`), `${r}x/usr`);
  assert.equal(sr.guestPath("/home/u"), "/home/u");
  assert.throws(() => new Sysroot(`${r}/etc/hostname`), /not a directory/);
  assert.throws(() => new Sysroot(`${r}/nope`), /no such directory/);
  Deno.removeSync(r, { recursive: true });
});

Deno.test("sysroot: every spelling is made canonical before the rules: no route to the host's /etc", () => {
  const r = fakeRoot();
  const sr = new Sysroot(r);
  const host = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-host-" }));
  try {
    const want = `${r}/etc/hostname`;
    for (
      const p of [
        "/../../etc/hostname",
        "/./etc/hostname",
        "//etc//hostname",
        "/tmp/../etc/hostname",
        "/dev/../etc/hostname",
        "/proc/../etc/hostname",
        "/sys/../etc/hostname",
        "/root/../etc/hostname",
        `${host}/../../../../etc/hostname`,
        "/proc/self/root/etc/hostname",
        `/proc/self/cwd/${"../".repeat(20)}etc/hostname`,
      ]
    ) assert.equal(sr.hostPath(p), want, p);
    // Symlinks the guest made in a host directory: their targets are guest paths again.
    Deno.symlinkSync("/etc/hostname", `${host}/abs`);
    Deno.symlinkSync("../../../../../../etc/hostname", `${host}/rel`);
    Deno.symlinkSync("/", `${host}/root`);
    Deno.symlinkSync("/proc/self/root", `${host}/procroot`);
    assert.equal(sr.hostPath(`${host}/abs`), want);
    assert.equal(sr.hostPath(`${host}/abs`, false), `${host}/abs`, "lstat sees the link itself");
    assert.equal(sr.hostPath(`${host}/rel`), want);
    assert.equal(sr.hostPath(`${host}/root/etc/hostname`), want);
    assert.equal(sr.hostPath(`${host}/procroot/etc/hostname`), want);
    // A link in the sysroot that climbs out reaches what the rules say: /tmp is the host's.
    Deno.symlinkSync("../../tmp/elfuse-x", `${r}/usr/lib/tmplink`);
    assert.equal(sr.hostPath("/usr/lib/tmplink"), "/tmp/elfuse-x");
    // The host's own files stay reachable where the rules allow.
    Deno.writeTextFileSync(`${host}/file`, "");
    assert.equal(sr.hostPath(`${host}/file`), `${host}/file`);
    assert.equal(sr.hostPath(`/etc/../${host}/./file`), `${host}/file`);
  } finally {
    Deno.removeSync(host, { recursive: true });
    Deno.removeSync(r, { recursive: true });
  }
});
