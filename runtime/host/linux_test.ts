import assert from "node:assert/strict";
import { openFlagsFromHost, openFlagsToHost, statFromStatx } from "./linux.ts";

const O_DIRECTORY = 0o40000, O_NOFOLLOW = 0o100000, O_CREAT = 0o100, O_CLOEXEC = 0o2000000;

Deno.test("open flags that aarch64 and x86_64 number differently are moved, the rest kept", () => {
  const guest = O_DIRECTORY | O_NOFOLLOW | O_CREAT | O_CLOEXEC;
  const host = openFlagsToHost(guest);
  if (Deno.build.arch === "x86_64") {
    assert.equal(host, 0o200000 | 0o400000 | O_CREAT | O_CLOEXEC);
  } else {
    assert.equal(host, guest);
  }
  assert.equal(openFlagsFromHost(host), guest);
  for (let bit = 0; bit < 23; bit++) {
    assert.equal(openFlagsFromHost(openFlagsToHost(1 << bit)), 1 << bit);
  }
});

Deno.test("struct stat is encoded from statx in the aarch64 layout", () => {
  const sx = new DataView(new ArrayBuffer(256));
  sx.setUint32(4, 4096, true); // blksize
  sx.setUint32(16, 3, true); // nlink
  sx.setUint32(20, 1000, true); // uid
  sx.setUint32(24, 100, true); // gid
  sx.setUint16(28, 0o100644, true); // mode
  sx.setBigUint64(32, 123456789n, true); // ino
  sx.setBigUint64(40, 5000n, true); // size
  sx.setBigUint64(48, 16n, true); // blocks
  sx.setBigInt64(112, 1700000000n, true); // mtime
  sx.setUint32(120, 42, true);
  sx.setUint32(136, 8, true); // dev major
  sx.setUint32(140, 1, true); // dev minor
  const st = new DataView(new ArrayBuffer(128));
  statFromStatx(sx, 0, st, 0);
  assert.equal(st.getBigUint64(0, true), 0x801n); // makedev(8, 1)
  assert.equal(st.getBigUint64(8, true), 123456789n);
  assert.equal(st.getUint32(16, true), 0o100644);
  assert.equal(st.getUint32(20, true), 3);
  assert.equal(st.getUint32(24, true), 1000);
  assert.equal(st.getUint32(28, true), 100);
  assert.equal(st.getBigInt64(48, true), 5000n);
  assert.equal(st.getInt32(56, true), 4096);
  assert.equal(st.getBigInt64(64, true), 16n);
  assert.equal(st.getBigInt64(88, true), 1700000000n);
  assert.equal(st.getBigUint64(96, true), 42n);
});
