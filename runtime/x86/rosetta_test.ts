// The Rosetta facts as recorded (shared/reference/elfuse.md §1.18): ioctl numbers and layouts.
import assert from "node:assert/strict";
import {
  CAPS_INLINE_PATH_MAX,
  CAPS_PROGRAM_AT,
  CAPS_SIZE,
  CAPS_SOCKET_AT,
  capsProgramPath,
  capsReply,
  ioc,
  KBUF_SIZE,
  KBUF_VA_BASE,
  ROSETTA_LINK_BASE,
  ROSETTAD_REQUEST,
  rosettaIoctl,
  VZ_IOCTL,
  vzIoctl,
  vzIoctlFor,
  vzIoctlGate,
} from "./rosetta.ts";

Deno.test("the VZ ioctl numbers are Linux's _IOR/_IO encodings of the recorded values", () => {
  assert.equal(VZ_IOCTL.CHECK, 0x80456125);
  assert.equal(VZ_IOCTL.CAPS, 0x80806123);
  assert.equal(VZ_IOCTL.ACTIVATE, 0x6124);
  // OrbStack's reading of the 69-byte key read: nr 0x22 instead of 0x25, same size and direction.
  assert.equal(VZ_IOCTL.KEY_ORBSTACK, 0x80456122);
  // Size field of CAPS is its reply's size; TCGETS (_IO 'T' 1 = 0x5401) checks the encoder.
  assert.equal((VZ_IOCTL.CAPS >>> 16) & 0x3fff, CAPS_SIZE);
  assert.equal(ioc(0, "T", 1, 0), 0x5401);
});

Deno.test("Rosetta's layout facts: image at 128 TiB, 256 MiB kbuf at the top of TTBR1", () => {
  assert.equal(ROSETTA_LINK_BASE, 2 ** 47);
  assert.equal(KBUF_SIZE, 0x1000_0000);
  assert.equal(KBUF_VA_BASE + BigInt(KBUF_SIZE), 1n << 64n); // ends at the top of the VA space
  assert.deepEqual(Object.values(ROSETTAD_REQUEST), [0x3f, 0x64, 0x74, 0x71]);
});

Deno.test("CAPS carries the program's path inline up to 41 bytes, else as /proc/self/fd/N", () => {
  const short = "/home/u/hello";
  assert.equal(capsProgramPath(short, 9), short);
  const most = "/" + "a".repeat(CAPS_INLINE_PATH_MAX - 2); // 41 bytes and the NUL fill the field
  assert.equal(capsProgramPath(most, 9), most);
  assert.equal(capsProgramPath(most + "b", 9), "/proc/self/fd/9");
});

/** The NUL-terminated string at `at`. */
const cString = (r: Uint8Array, at: number) =>
  new TextDecoder().decode(r.subarray(at, r.indexOf(0, at)));

Deno.test("CAPS's reply: byte 0 enables, the socket name at 1, the program at 66", () => {
  const r = capsReply({ socket: "/run/rosettad/rosetta.sock", program: "/x/hello", execFd: 7 });
  assert.equal(r.length, 128);
  assert.equal(r[0], 1);
  assert.equal(CAPS_SOCKET_AT, 1);
  assert.equal(CAPS_PROGRAM_AT, 66);
  assert.equal(cString(r, 1), "/run/rosettad/rosetta.sock");
  assert.ok(r.subarray(1 + 26, 66).every((b) => b === 0));
  assert.equal(cString(r, 66), "/x/hello");
  assert.ok(r.subarray(66 + 8).every((b) => b === 0), "byte 108, the second flag, is 0");
  const long = capsReply({ socket: "/s", program: "/" + "x".repeat(60), execFd: 12 });
  assert.equal(cString(long, 66), "/proc/self/fd/12");
  const noProgram = capsReply({ socket: "/s", execFd: -1 });
  assert.ok(noProgram.subarray(66).every((b) => b === 0));
  assert.ok(capsReply({ execFd: 3 }).every((b) => b === 0), "no bridge: all zero");
});

Deno.test("the VZ ioctls answer only their own numbers; CHECK needs the 69-byte signature", () => {
  const caps = { socket: "/r", execFd: 3 };
  assert.equal(vzIoctl(0x5401, caps), undefined); // TCGETS goes to the host
  assert.deepEqual(vzIoctl(VZ_IOCTL.ACTIVATE, caps), { result: 0 });
  assert.equal(vzIoctl(VZ_IOCTL.CAPS, caps)!.reply![0], 1);
  assert.deepEqual(vzIoctl(VZ_IOCTL.CHECK, caps), { result: -25 });
  const sig = new Uint8Array(69).fill(0x41);
  assert.deepEqual(vzIoctl(VZ_IOCTL.CHECK, caps, sig), { reply: sig, result: 0 });
  assert.deepEqual(vzIoctl(VZ_IOCTL.CHECK, caps, sig.subarray(1)), { result: -25 });
  assert.deepEqual(vzIoctl(VZ_IOCTL.KEY_ORBSTACK, caps, sig), { reply: sig, result: 0 });
  assert.deepEqual(vzIoctl(VZ_IOCTL.KEY_ORBSTACK, caps), { result: -25 });
});

Deno.test("the trap holds only on Rosetta's own descriptor (/proc/self/exe or its path)", () => {
  const R = "/Library/Apple/usr/libexec/oah/RosettaLinux/rosetta";
  assert.ok(vzIoctlGate("/proc/self/exe", R, 77));
  assert.ok(vzIoctlGate("/proc/77/exe", R, 77));
  assert.ok(vzIoctlGate(R, R, 77));
  assert.ok(!vzIoctlGate("/proc/78/exe", R, 77));
  assert.ok(!vzIoctlGate("/dev/tty", R, 77));
});

Deno.test("ioctl's Rosetta step writes the answer into guest memory, EFAULT past it", () => {
  const mem = new Uint8Array(0x400).fill(0xee);
  const m = { mem, resolve: (a: number, n: number) => a >= 0 && a + n <= mem.length ? a : -1 };
  const r = { guestPath: "/rosetta", caps: { socket: "/rd", execFd: 5 } };
  // Not Rosetta's descriptor, or not a VZ request: the handler goes on as usual.
  assert.equal(rosettaIoctl(r, m, 1, "/dev/null", VZ_IOCTL.CAPS, 0x100), undefined);
  assert.equal(rosettaIoctl(r, m, 1, "/proc/self/exe", 0x5401, 0x100), undefined);
  assert.equal(rosettaIoctl(r, m, 1, "/proc/self/exe", VZ_IOCTL.CAPS, 0x100), 0);
  assert.deepEqual([...mem.subarray(0x100, 0x105)], [1, 0x2f, 0x72, 0x64, 0]); // 1 "/rd" NUL
  assert.equal(mem[0x17f], 0, "all 128 bytes written");
  assert.equal(mem[0x180], 0xee, "and not one more");
  assert.equal(rosettaIoctl(r, m, 1, "/proc/self/exe", VZ_IOCTL.CAPS, 0x390), -14);
  assert.equal(rosettaIoctl(r, m, 1, "/proc/self/exe", VZ_IOCTL.ACTIVATE, 0), 0);
  assert.equal(rosettaIoctl(r, m, 1, "/proc/self/exe", VZ_IOCTL.CHECK, 0x200), -25);
  const sig = new Uint8Array(69).fill(0x53);
  assert.equal(rosettaIoctl({ ...r, signature: sig }, m, 1, "/rosetta", VZ_IOCTL.CHECK, 0x200), 0);
  assert.deepEqual(mem.subarray(0x200, 0x245), sig);
  assert.equal(mem[0x245], 0xee);
});

Deno.test("Process.vzIoctl's closure answers for its process's pid and Rosetta state", () => {
  const mem = new Uint8Array(0x100).fill(0xee);
  const m = { mem, resolve: (a: number, n: number) => a >= 0 && a + n <= mem.length ? a : -1 };
  const vz = vzIoctlFor({ guestPath: "/rosetta", caps: { execFd: 9 } }, m, 40);
  assert.equal(vz("/proc/40/exe", VZ_IOCTL.CAPS, 0), 0);
  assert.ok(mem.subarray(0, 128).every((b) => b === 0), "no bridge: 128 zero bytes");
  assert.equal(mem[128], 0xee);
  assert.equal(vz("/proc/41/exe", VZ_IOCTL.CAPS, 0), undefined, "another process's exe");
  assert.equal(vz("/rosetta", VZ_IOCTL.ACTIVATE, 0), 0);
});
