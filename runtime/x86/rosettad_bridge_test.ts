// The rosettad bridge without a guest (rosettad_bridge.ts): a host SOCK_SEQPACKET socket connected
// as Rosetta connects it, then requests sent and answers read as Rosetta would, bad ones included.
// Linux only (the bridge's socketpair is a stream on macOS, where its wire is untested).
import assert from "node:assert/strict";
import { libc } from "../host/libc.ts";
import { ROSETTAD_SOCKET, RosettadBridge } from "./rosettad_bridge.ts";

const linux = Deno.build.os === "linux";
const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0o2000000;
const enc = new TextEncoder();
const addr = (a: ArrayBufferView) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a)));

function sockaddr(name: string): Uint8Array {
  const a = new Uint8Array(2 + name.length + 1);
  a[0] = AF_UNIX;
  a.set(enc.encode(name), 2);
  return a;
}

/** A message to the bridge, and the next answer (its bytes; empty at the end of the stream). */
function send(fd: number, bytes: Uint8Array): void {
  assert.equal(Number(libc.sendto(fd, addr(bytes), bytes.length, 0, 0, 0)), bytes.length);
}
function answer(fd: number): number[] {
  const buf = new Uint8Array(64);
  const n = Number(libc.recvfrom(fd, addr(buf), buf.length, 0, 0, 0));
  assert.ok(n >= 0);
  return [...buf.subarray(0, n)];
}

/** A Rosetta-like socket connected to `bridge` (an AOT cache under an empty $HOME). */
function connected(bridge: RosettadBridge): number {
  const fd = libc.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  assert.equal(bridge.connect(sockaddr(ROSETTAD_SOCKET), fd), 0);
  return fd;
}

Deno.test({
  name: "rosettad bridge: only Rosetta's kind of socket, to CAPS's name, is taken",
  ignore: !linux,
  fn: () => {
    const bridge = new RosettadBridge(false);
    const seq = libc.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    const stream = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    try {
      assert.equal(bridge.connect(sockaddr("/run/other.sock"), seq), undefined);
      assert.equal(bridge.connect(sockaddr(ROSETTAD_SOCKET), stream), undefined);
    } finally {
      libc.close(seq);
      libc.close(stream);
      bridge.close();
    }
  },
});

Deno.test({
  name: "rosettad bridge: bad requests get a MISS; a payload out of step ends the exchange",
  ignore: !linux,
  fn: () => {
    const home = Deno.makeTempDirSync({ prefix: "elfuse-bridge-" });
    const before = Deno.env.get("HOME");
    Deno.env.set("HOME", home);
    const bridge = new RosettadBridge(false);
    const open: number[] = [];
    try {
      const a = connected(bridge);
      open.push(a);
      send(a, enc.encode("?"));
      assert.deepEqual(answer(a), [1], "handshake: HIT");
      send(a, enc.encode("x"));
      assert.deepEqual(answer(a), [0], "unknown request: MISS");
      send(a, new Uint8Array([0x64, ...new Uint8Array(32).fill(5)]));
      assert.deepEqual(answer(a), [0], "a digest not cached: MISS");
      send(a, enc.encode("d"));
      send(a, enc.encode("short"));
      assert.deepEqual(answer(a), [0], "a digest of 5 bytes: MISS");
      assert.deepEqual(answer(a), [], "and the bridge ends the exchange");

      const b = connected(bridge);
      open.push(b);
      send(b, enc.encode("t"));
      send(b, enc.encode("params without an fd"));
      assert.deepEqual(answer(b), [0]);
      assert.deepEqual(answer(b), []);

      const c = connected(bridge);
      open.push(c);
      send(c, enc.encode("q"));
      assert.deepEqual(answer(c), [], "quit: the end of the stream");

      // An empty message reads as recvmsg's 0, the end of the stream: the exchange ends.
      const d = connected(bridge);
      open.push(d);
      send(d, new Uint8Array(0));
      assert.deepEqual(answer(d), []);
      // Only the bridge's cache counts: Deno itself may make $HOME/.cache/deno when HOME changes.
      let cached: string[] = [];
      try {
        cached = [...Deno.readDirSync(`${home}/.cache/elfuse-rosettad`)].map((e) => e.name);
      } catch { /* never made: nothing was translated */ }
      assert.deepEqual(cached, [], "nothing was translated");
    } finally {
      for (const fd of open) libc.close(fd);
      bridge.close();
      if (before === undefined) Deno.env.delete("HOME");
      else Deno.env.set("HOME", before);
      Deno.removeSync(home, { recursive: true });
    }
  },
});
