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

Deno.test("sockets: families, options and message flags in XNU numbering", async () => {
  const { socketHost: x } = await import("./darwin.ts");
  assert.equal(x.family(10), 30); // AF_INET6
  assert.equal(x.family(16), -1); // no AF_NETLINK
  assert.deepEqual(x.option(1, 2), [0xffff, 4]); // SO_REUSEADDR
  assert.deepEqual(x.option(1, 20), [0xffff, 0x1006]); // SO_RCVTIMEO
  assert.deepEqual(x.option(6, 4), [6, 0x10]); // TCP_KEEPIDLE is TCP_KEEPALIVE
  assert.deepEqual(x.option(41, 26), [41, 27]); // IPV6_V6ONLY
  assert.equal(x.option(1, 17), undefined); // SO_PEERCRED: none
  const all = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80 | 0x100 | 0x4000;
  assert.equal(x.msgFlagsToHost(0x40 | 0x4000), 0x80 | 0x80000);
  assert.equal(x.msgFlagsFromHost(x.msgFlagsToHost(all)), all);
});

Deno.test("sockets: Linux sockaddrs become BSD ones (length byte, family byte) and back", async () => {
  const { socketHost: x } = await import("./darwin.ts");
  const out = new Uint8Array(128);
  // sockaddr_in 127.0.0.1:8080
  const sin = Uint8Array.from([2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(x.addrToHost(sin, out), 16);
  assert.deepEqual([...out.subarray(0, 8)], [16, 2, 0x1f, 0x90, 127, 0, 0, 1]);
  const back = new Uint8Array(128);
  assert.equal(x.addrFromHost(out.subarray(0, 16), back), 16);
  assert.deepEqual([...back.subarray(0, 16)], [...sin]);
  // sockaddr_in6 [::1]:80: family 10 becomes 30
  const sin6 = new Uint8Array(28);
  sin6.set([10, 0, 0, 80]);
  sin6[23] = 1;
  assert.equal(x.addrToHost(sin6, out), 28);
  assert.deepEqual([out[0], out[1], out[23]], [28, 30, 1]);
  assert.equal(x.addrFromHost(out.subarray(0, 28), back), 28);
  assert.deepEqual([back[0], back[1]], [10, 0]);
  // sockaddr_un "/tmp/s": the path and its NUL
  const sun = new Uint8Array([1, 0, ...new TextEncoder().encode("/tmp/s"), 0]);
  assert.equal(x.addrToHost(sun, out), 9);
  assert.deepEqual([out[0], out[1], out[2]], [9, 1, 0x2f]);
  assert.equal(x.addrFromHost(out.subarray(0, 9), back), 9);
  // What XNU cannot take: abstract names, paths past its 104 bytes, families it lacks.
  assert.equal(x.addrToHost(Uint8Array.from([1, 0, 0, 0x61]), out), -E.EINVAL);
  assert.equal(
    x.addrToHost(new Uint8Array([1, 0, ...new Uint8Array(106).fill(0x61)]), out),
    -E.EINVAL,
  );
  assert.equal(x.addrToHost(Uint8Array.from([16, 0, 0, 0]), out), -E.EAFNOSUPPORT);
  assert.equal(x.addrToHost(Uint8Array.from([2, 0, 0, 80]), out), -E.EINVAL);
});

Deno.test("sockets: XNU struct msghdr and cmsghdr layouts", async () => {
  const { socketHost: x } = await import("./darwin.ts");
  assert.equal(x.msghdr.size, 48);
  assert.equal(x.msghdr.flags, 44);
  assert.deepEqual(x.cmsg, { size: 12, align: 4, lenSize: 4 });
  assert.equal(x.solSocket, 0xffff);
});
