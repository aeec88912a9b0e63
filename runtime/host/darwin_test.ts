import assert from "node:assert/strict";
import { E } from "../kernel/errno.ts";
import {
  clockToHost,
  errnoToLinux,
  openFlagsFromHost,
  openFlagsToHost,
  pollEventsFromHost,
  pollEventsToHost,
  statFromXnu,
} from "./darwin.ts";

Deno.test("XNU errnos map to the Linux errnos of the same meaning", () => {
  assert.equal(errnoToLinux(2), E.ENOENT);
  assert.equal(errnoToLinux(35), E.EAGAIN); // XNU EAGAIN is 35, Linux 11
  assert.equal(errnoToLinux(62), E.ELOOP);
  assert.equal(errnoToLinux(66), E.ENOTEMPTY);
  assert.equal(errnoToLinux(78), E.ENOSYS);
  assert.equal(errnoToLinux(93), E.ENODATA); // ENOATTR
  assert.equal(errnoToLinux(9999), E.EIO);
});

Deno.test("open flags round-trip through XNU numbering", () => {
  const O_CREAT = 0o100, O_EXCL = 0o200, O_DIRECTORY = 0o40000, O_CLOEXEC = 0o2000000;
  assert.equal(openFlagsToHost(2 | O_CREAT | O_EXCL), 2 | 0x200 | 0x800);
  assert.equal(openFlagsToHost(O_DIRECTORY | O_CLOEXEC), 0x100000 | 0x1000000);
  for (
    const f of [0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000, 0o10000, 0o40000, 0o100000, 0o2000000]
  ) {
    assert.equal(openFlagsFromHost(openFlagsToHost(f | 1)), f | 1);
  }
});

Deno.test("clock ids and poll events translate", () => {
  assert.equal(clockToHost(0), 0);
  assert.equal(clockToHost(1), 8);
  assert.equal(clockToHost(11), -1); // CLOCK_TAI
  assert.equal(pollEventsToHost(0x100 | 0x1), 0x4 | 0x1); // POLLWRNORM is XNU POLLOUT
  assert.equal(pollEventsFromHost(0x4, 0x100), 0x100);
  assert.equal(pollEventsFromHost(0x4, 0x4), 0x4);
});

Deno.test("XNU struct stat becomes the Linux aarch64 layout", () => {
  const st = new DataView(new ArrayBuffer(144));
  st.setInt32(0, (1 << 24) | 5, true); // dev major 1 minor 5
  st.setUint16(4, 0o40755, true);
  st.setUint16(6, 4, true);
  st.setBigUint64(8, 77n, true);
  st.setUint32(16, 501, true);
  st.setUint32(20, 20, true);
  st.setBigInt64(48, 1600000000n, true); // mtime sec
  st.setBigInt64(56, 9n, true);
  st.setBigInt64(96, 4096n, true);
  st.setBigInt64(104, 8n, true);
  st.setInt32(112, 4096, true);
  const out = new DataView(new ArrayBuffer(128));
  statFromXnu(st, 0, out, 0);
  assert.equal(out.getBigUint64(0, true), 0x105n);
  assert.equal(out.getBigUint64(8, true), 77n);
  assert.equal(out.getUint32(16, true), 0o40755);
  assert.equal(out.getUint32(20, true), 4);
  assert.equal(out.getUint32(24, true), 501);
  assert.equal(out.getBigInt64(48, true), 4096n);
  assert.equal(out.getInt32(56, true), 4096);
  assert.equal(out.getBigInt64(88, true), 1600000000n);
  assert.equal(out.getBigInt64(96, true), 9n);
});
