// The FUSE wire helpers: frames, argument structs, attributes into stat/statx, path handling.
import assert from "node:assert/strict";
import {
  args,
  encodeDev,
  frame,
  IN_HEADER,
  Op,
  readAttr,
  writeStat,
  writeStatx,
} from "./protocol.ts";
import { normalise } from "./vfs.ts";

Deno.test("fuse frame: the in header, then the parts (strings with their NUL)", () => {
  const f = frame(Op.LOOKUP, 42, 7, { uid: 1000, gid: 100, pid: 55 }, ["ab", args([4, 9])]);
  const v = new DataView(f.buffer);
  assert.equal(f.length, IN_HEADER + 3 + 4);
  assert.equal(v.getUint32(0, true), f.length);
  assert.equal(v.getUint32(4, true), Op.LOOKUP);
  assert.equal(v.getBigUint64(8, true), 42n);
  assert.equal(v.getBigUint64(16, true), 7n);
  assert.deepEqual([v.getUint32(24, true), v.getUint32(28, true), v.getUint32(32, true)], [
    1000,
    100,
    55,
  ]);
  assert.deepEqual([...f.subarray(IN_HEADER, IN_HEADER + 3)], [0x61, 0x62, 0]);
  assert.equal(v.getUint32(IN_HEADER + 3, true), 9);
});

Deno.test("fuse_attr becomes the aarch64 struct stat and statx", () => {
  const a = new DataView(new ArrayBuffer(88));
  a.setBigUint64(0, 12n, true); // ino
  a.setBigUint64(8, 300000n, true); // size
  a.setBigUint64(16, 592n, true); // blocks
  a.setBigInt64(32, 1700000000n, true); // mtime
  a.setUint32(52, 5, true); // mtimensec
  a.setUint32(60, 0o100644, true); // mode
  a.setUint32(64, 1, true); // nlink
  a.setUint32(68, 1000, true); // uid
  const attr = readAttr(a, 0);
  assert.equal(attr.blksize, 4096, "a zero blksize reads as 4096");
  const dev = encodeDev(0, 201);
  const st = new DataView(new ArrayBuffer(128));
  writeStat(st, 0, attr, dev);
  assert.equal(st.getBigUint64(0, true), BigInt(dev));
  assert.equal(st.getBigUint64(8, true), 12n);
  assert.equal(st.getUint32(16, true), 0o100644);
  assert.equal(st.getUint32(24, true), 1000);
  assert.equal(st.getBigInt64(48, true), 300000n);
  assert.equal(st.getBigInt64(88, true), 1700000000n);
  assert.equal(st.getBigInt64(96, true), 5n);
  const sx = new DataView(new ArrayBuffer(256));
  writeStatx(sx, 0, attr, dev);
  assert.equal(sx.getUint16(28, true), 0o100644);
  assert.equal(sx.getBigUint64(40, true), 300000n);
  assert.equal(sx.getBigInt64(112, true), 1700000000n);
  assert.equal(sx.getUint32(140, true), 201, "dev minor");
});

Deno.test("guest paths are normalised lexically before the mount table is searched", () => {
  assert.equal(normalise("/mnt/./a//b/../c/"), "/mnt/a/c");
  assert.equal(normalise("/../.."), "/");
  assert.equal(normalise("/mnt"), "/mnt");
});
