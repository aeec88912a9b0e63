// Real software on guest-internal FUSE, from Debian arm64 (the corpus sysroot): squashfuse
// (libfuse3) mounts an image made here by the host's mksquashfs, and other guest processes
// (coreutils, busybox) read through the mount: names, symlinks and every file's SHA-256 must be
// the source tree's. bindfs (libfuse 2) mirrors a host directory writeably: what guest programs
// create, write, rename and remove under the mount must be what the host directory then holds.
// Needs mksquashfs (tools/setup.sh installs squashfs-tools).
import assert from "node:assert/strict";
import { runCli } from "../../testing.ts";

const repo = new URL("../../../", import.meta.url).pathname;
const sysroot = `${repo}.tools/sysroot`;
const busybox = `${repo}.tools/debs/busybox-static/bin/busybox`;

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

const mksquashfs = ["/usr/bin/mksquashfs", "/usr/sbin/mksquashfs"].find(exists);
const ready = mksquashfs !== undefined && exists(`${sysroot}/usr/bin/squashfuse`) &&
  exists(busybox) && exists(`${repo}fixtures/build/hello`);

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A small tree: text, a 300 KB binary (several READs), a nested file, a symlink. */
function makeTree(dir: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {
    "a.txt": new TextEncoder().encode("hello squashfuse\n"),
    "dir/deep/f": new TextEncoder().encode("deep\n"),
  };
  const big = new Uint8Array(300_000);
  for (let i = 0; i < big.length; i += 65536) {
    crypto.getRandomValues(big.subarray(i, Math.min(i + 65536, big.length)));
  }
  files["dir/big.bin"] = big;
  for (const [name, bytes] of Object.entries(files)) {
    Deno.mkdirSync(`${dir}/${name.split("/").slice(0, -1).join("/")}`, { recursive: true });
    Deno.writeFileSync(`${dir}/${name}`, bytes);
  }
  Deno.symlinkSync("a.txt", `${dir}/link`);
  // Programs to run from the mount: a static aarch64 ELF and a script.
  Deno.mkdirSync(`${dir}/bin`);
  Deno.copyFileSync(`${repo}fixtures/build/hello`, `${dir}/bin/hello`);
  Deno.chmodSync(`${dir}/bin/hello`, 0o755);
  Deno.writeTextFileSync(`${dir}/bin/script`, '#!/bin/bash\necho script ran "$1"\n');
  Deno.chmodSync(`${dir}/bin/script`, 0o755);
  return files;
}

Deno.test({
  name: "squashfuse (libfuse3) serves a mksquashfs image to other guest processes",
  ignore: !ready,
  fn: async () => {
    const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-sqfs-" }));
    try {
      const files = makeTree(`${tmp}/src`);
      const mk = await new Deno.Command(mksquashfs!, {
        args: [`${tmp}/src`, `${tmp}/img.sqfs`, "-quiet", "-noappend"],
        stdout: "null",
      }).output();
      assert.equal(mk.code, 0, "mksquashfs");
      Deno.mkdirSync(`${tmp}/mnt`);
      const mnt = `${tmp}/mnt`;
      // squashfuse daemonizes (libfuse forks after mount(2)): the daemon and every client are
      // different guest processes. Its own umount at SIGTERM is umount2 (libfuse as root) or
      // fusermount3; busybox umount is used here. `ls -l` runs early: on main too (no FUSE),
      // an in-process `ls -l` after `grep ... /proc/mounts` in a bash script segfaults (reported
      // apart; it is not FUSE's).
      const script = [
        `squashfuse ${tmp}/img.sqfs ${mnt} || exit 9`,
        `cat ${mnt}/link`,
        `ls -l ${mnt}/link`,
        `${busybox} find ${mnt}`, // squashfs keeps directories sorted: pre-order is sorted
        `${mnt}/bin/hello`,
        `${mnt}/bin/script arg`,
        `sha256sum ${Object.keys(files).map((f) => `${mnt}/${f}`).join(" ")}`,
        // The working directory under the mount (a subshell: a fork child keeps it).
        `(cd ${mnt}/dir && /bin/pwd && ls && cat deep/f ../a.txt)`,
        `grep -c "${mnt} fuse.squashfuse" /proc/mounts`,
        `${busybox} umount ${mnt} && echo unmounted`,
        `echo "[$(ls -A ${mnt})]"`,
      ].join("\n");
      const o = await runCli("--sysroot", sysroot, "--timeout", "60", "/bin/bash", "-c", script);
      assert.equal(o.code, 0, o.stderr);
      const lines = o.stdout.split("\n");
      assert.equal(lines[0], "hello squashfuse");
      assert.match(lines[1], /^lrwxrwxrwx .* -> a\.txt$/);
      lines.splice(1, 1);
      const names = [
        "",
        "/a.txt",
        "/bin",
        "/bin/hello",
        "/bin/script",
        "/dir",
        "/dir/big.bin",
        "/dir/deep",
        "/dir/deep/f",
        "/link",
      ];
      assert.deepEqual(lines.splice(1, names.length), names.map((n) => mnt + n));
      assert.equal(lines[1], "hello, world", "execve of an ELF under the mount");
      assert.equal(lines[2], "script ran arg", "execve of a script under the mount");
      lines.splice(1, 2);
      for (const [i, [name, bytes]] of Object.entries(files).entries()) {
        assert.equal(lines[1 + i], `${await sha256(bytes)}  ${mnt}/${name}`, name);
      }
      assert.deepEqual(
        lines.splice(4, 5),
        [`${mnt}/dir`, "big.bin", "deep", "deep", "hello squashfuse"],
        "cd into the mount: getcwd, ls, relative paths",
      );
      assert.equal(lines[4], "1", "/proc/mounts lists it");
      assert.equal(lines[5], "unmounted");
      assert.equal(lines[6], "[]", "the mount point is the host's empty directory again");
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "bindfs (libfuse 2) mirrors a directory writeably: creates, writes, renames, removes",
  ignore: !exists(`${sysroot}/usr/bin/bindfs`) || !exists(busybox),
  fn: async () => {
    const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-bindfs-" }));
    try {
      const src = `${tmp}/src`, mnt = `${tmp}/mnt`;
      Deno.mkdirSync(src);
      Deno.mkdirSync(mnt);
      Deno.writeTextFileSync(`${src}/a.txt`, "original\n");
      Deno.writeTextFileSync(`${src}/gone.txt`, "remove me\n");
      const script = [
        `bindfs ${src} ${mnt} || exit 9`,
        `${busybox} cat ${mnt}/a.txt`,
        `echo written > ${mnt}/new.txt`,
        `echo appended >> ${mnt}/a.txt`,
        `${busybox} mkdir ${mnt}/d`,
        `${busybox} mv ${mnt}/new.txt ${mnt}/d/moved.txt`,
        `${busybox} rm ${mnt}/gone.txt`,
        // mknodat under the mount is the daemon's MKNOD.
        `${busybox} mkfifo ${mnt}/d/fifo || exit 7`,
        `${busybox} ls ${mnt} ${mnt}/d`,
        // cd into the mount: a relative create and read there, then out again.
        `cd ${mnt}/d && echo relative > here.txt && ${busybox} cat here.txt && cd / || exit 8`,
        `${busybox} umount ${mnt} && echo unmounted`,
      ].join("\n");
      const o = await runCli("--sysroot", sysroot, "--timeout", "60", busybox, "sh", "-c", script);
      assert.equal(o.code, 0, o.stderr);
      assert.equal(
        o.stdout,
        `original\n${mnt}:\na.txt\nd\n\n${mnt}/d:\nfifo\nmoved.txt\nrelative\nunmounted\n`,
        o.stderr,
      );
      assert.equal(Deno.readTextFileSync(`${src}/a.txt`), "original\nappended\n");
      assert.equal(Deno.readTextFileSync(`${src}/d/moved.txt`), "written\n");
      assert.equal(Deno.readTextFileSync(`${src}/d/here.txt`), "relative\n");
      assert.ok(!exists(`${src}/gone.txt`) && !exists(`${src}/new.txt`));
      assert.ok(Deno.lstatSync(`${src}/d/fifo`).isFifo, "the daemon made a FIFO");
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
