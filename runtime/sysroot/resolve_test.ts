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
  // Relative to a directory inside the root: stays inside whatever the first component.
  assert.equal(sr.hostPath("/srv/data/new-file", true, true), `${r}/srv/data/new-file`);
  assert.equal(sr.hostPath("/usr/../tmp/y", true, true), "/tmp/y");
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
