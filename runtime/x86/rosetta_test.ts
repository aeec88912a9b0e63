// The Rosetta facts as recorded (shared/reference/elfuse.md §1.18): ioctl numbers and layouts.
import assert from "node:assert/strict";
import {
  CAPS_INLINE_PATH_MAX,
  CAPS_SIZE,
  capsReply,
  capsRosettadPath,
  ioc,
  KBUF_SIZE,
  KBUF_VA_BASE,
  ROSETTA_LINK_BASE,
  ROSETTAD_REQUEST,
  VZ_IOCTL,
  vzIoctl,
} from "./rosetta.ts";

Deno.test("the VZ ioctl numbers are Linux's _IOR/_IO encodings of the recorded values", () => {
  assert.equal(VZ_IOCTL.CHECK, 0x80456125);
  assert.equal(VZ_IOCTL.CAPS, 0x80806123);
  assert.equal(VZ_IOCTL.ACTIVATE, 0x6124);
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

Deno.test("CAPS carries rosettad's path inline up to 42 bytes, else as /proc/self/fd/N", () => {
  const short = "/usr/libexec/rosettad";
  assert.equal(capsRosettadPath(short, 9), short);
  const exact = "/" + "a".repeat(CAPS_INLINE_PATH_MAX - 1);
  assert.equal(capsRosettadPath(exact, 9), exact);
  assert.equal(capsRosettadPath(exact + "b", 9), "/proc/self/fd/9");
});

Deno.test("CAPS's reply: byte 0 enables the bridge, the rosettad path follows from byte 1", () => {
  const r = capsReply("/usr/libexec/rosettad", 7);
  assert.equal(r.length, 128);
  assert.equal(r[0], 1);
  const path = new TextDecoder().decode(r.subarray(1, r.indexOf(0, 1)));
  assert.equal(path, "/usr/libexec/rosettad");
  assert.ok(r.subarray(1 + path.length).every((b) => b === 0));
  const long = capsReply("/" + "x".repeat(60), 12);
  assert.equal(new TextDecoder().decode(long.subarray(1, long.indexOf(0, 1))), "/proc/self/fd/12");
  assert.ok(capsReply(undefined, 0).every((b) => b === 0), "no bridge: all zero");
});

Deno.test("the VZ ioctls answer only their own numbers; CHECK needs the 69-byte signature", () => {
  const caps = { rosettadPath: "/r", fd: 3 };
  assert.equal(vzIoctl(0x5401, caps), undefined); // TCGETS goes to the host
  assert.deepEqual(vzIoctl(VZ_IOCTL.ACTIVATE, caps), { result: 0 });
  assert.equal(vzIoctl(VZ_IOCTL.CAPS, caps)!.reply![0], 1);
  assert.deepEqual(vzIoctl(VZ_IOCTL.CHECK, caps), { result: -25 });
  const sig = new Uint8Array(69).fill(0x41);
  assert.deepEqual(vzIoctl(VZ_IOCTL.CHECK, caps, sig), { reply: sig, result: 0 });
  assert.deepEqual(vzIoctl(VZ_IOCTL.CHECK, caps, sig.subarray(1)), { result: -25 });
});
