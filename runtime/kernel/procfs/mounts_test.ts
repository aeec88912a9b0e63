import assert from "node:assert/strict";
import { guestMounts, renderMountinfo, renderMounts } from "./mounts.ts";
import { Sysroot } from "../../sysroot/resolve.ts";

const HOST = [
  "22 27 0:21 / /proc rw,relatime - proc proc rw",
  "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
  "28 27 0:25 / /srv/root/usr/share ro,nosuid - tmpfs none ro,size=4k",
  "29 27 0:26 / /usr/local rw shared:3 - tmpfs tmpfs rw",
  "30 27 0:27 / /home rw - ext4 /dev/vdb rw",
  "",
].join("\n");

Deno.test("without a sysroot the host's mounts are the guest's", () => {
  const list = guestMounts(HOST, undefined);
  assert.deepEqual(list.map((m) => m.target), [
    "/proc",
    "/",
    "/srv/root/usr/share",
    "/usr/local",
    "/home",
  ]);
  assert.deepEqual(
    renderMountinfo(list).split("\n")[3],
    "29 27 0:26 / /usr/local rw shared:3 - tmpfs tmpfs rw",
  );
});

Deno.test("a sysroot is /: mounts in it at guest paths, the ones it hides left out", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sr = new Sysroot(dir);
    const text = HOST.replaceAll("/srv/root", sr.root);
    const list = guestMounts(text, sr);
    assert.deepEqual(list.map((m) => m.target), ["/proc", "/", "/usr/share", "/home"]);
    assert.deepEqual(list[1].root, "/");
    const mounts = renderMounts(list);
    assert.deepEqual(mounts.includes(sr.root), false, "no host path of the sysroot");
    assert.deepEqual(mounts.split("\n")[2], "none /usr/share tmpfs ro,nosuid,size=4k 0 0");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
