// The rosettad AOT bridge's protocol (shared/reference/elfuse.md §1.18), byte for byte.
import assert from "node:assert/strict";
import {
  aotCachePath,
  digestHex,
  fileDigest,
  handshakeReply,
  isRosettadAddress,
  parseRequest,
  translatePlan,
  translateReply,
} from "./rosettad.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A sockaddr_un: family AF_UNIX (1, little-endian) then sun_path. */
function sockaddr(path: Uint8Array): Uint8Array {
  const a = new Uint8Array(2 + path.length);
  a[0] = 1;
  a.set(path, 2);
  return a;
}

Deno.test("Rosetta's connect to rosettad is recognised under both readings of CAPS byte 0", () => {
  const name = "/run/rosettad/rosettad.sock";
  const path = sockaddr(new Uint8Array([...enc(name), 0]));
  assert.ok(isRosettadAddress(path, path.length, name), "a path, NUL-terminated");
  assert.ok(isRosettadAddress(path, path.length - 1, name), "a path, length without the NUL");
  const abstract = sockaddr(new Uint8Array([0, ...enc(name)]));
  assert.ok(isRosettadAddress(abstract, abstract.length, name), "an abstract name");
  assert.ok(!isRosettadAddress(path, path.length, name + "x"));
  assert.ok(!isRosettadAddress(sockaddr(enc("/other")), 8, name));
  const inet = path.slice();
  inet[0] = 2; // AF_INET
  assert.ok(!isRosettadAddress(inet, inet.length, name));
  assert.ok(!isRosettadAddress(path, 2, name), "no sun_path at all");
  assert.ok(!isRosettadAddress(path, path.length + 1, name), "a length past the buffer");
});

Deno.test("the bridge's requests: '?', 'q', 'd' + digest, 't' + fd + parameters", () => {
  assert.deepEqual(parseRequest(enc("?"), []), { op: "handshake" });
  assert.deepEqual(parseRequest(enc("q"), []), { op: "quit" });
  const digest = new Uint8Array(32).fill(7);
  assert.deepEqual(parseRequest(new Uint8Array([0x64, ...digest]), []), { op: "digest", digest });
  assert.match(parseRequest(new Uint8Array([0x64, 1, 2]), []) as string, /2 bytes/);
  const params = new Uint8Array(256).fill(9);
  assert.deepEqual(parseRequest(new Uint8Array([0x74, ...params]), [5]), {
    op: "translate",
    fd: 5,
    params,
  });
  assert.match(parseRequest(new Uint8Array([0x74, ...params, 0]), [5]) as string, /257 bytes/);
  assert.match(parseRequest(enc("t"), []) as string, /0 fds/);
  assert.match(parseRequest(enc("x"), []) as string, /0x78/);
  assert.equal(parseRequest(new Uint8Array(0), []), "empty message");
});

Deno.test("the replies: HIT; HIT + digest, then the .aot fd with a one-byte iov", () => {
  assert.deepEqual([...handshakeReply()], [0x48, 0x49, 0x54]);
  const digest = new Uint8Array(32).map((_, i) => i);
  const [first, second] = translateReply(digest, 11);
  assert.equal(first.data.length, 35);
  assert.deepEqual([...first.data.subarray(0, 3)], [0x48, 0x49, 0x54]);
  assert.deepEqual(first.data.subarray(3), digest);
  assert.deepEqual(first.fds, []);
  assert.deepEqual(second, { data: new Uint8Array(1), fds: [11] });
  assert.throws(() => translateReply(digest.subarray(1), 11), /32 bytes/);
});

Deno.test("the cache is keyed by the file's SHA-256 in hex", async () => {
  const d = await fileDigest(enc("abc"));
  assert.equal(
    digestHex(d),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", // FIPS 180-2's "abc"
  );
  assert.equal(
    aotCachePath("/home/u", d),
    "/home/u/.cache/elfuse-rosettad/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.aot",
  );
});

Deno.test("a miss runs rosettad into a temporary file, 120 s unless ELFUSE_ROSETTAD_TIMEOUT", () => {
  const none = () => undefined;
  assert.deepEqual(translatePlan("/r/rosettad", "/in", "/c/x.aot", 42, none), {
    args: ["/r/rosettad", "translate", "/in", "/c/x.aot.tmp.42"],
    temp: "/c/x.aot.tmp.42",
    output: "/c/x.aot",
    timeoutMs: 120_000,
  });
  const env = (v: string) => (n: string) => n === "ELFUSE_ROSETTAD_TIMEOUT" ? v : undefined;
  assert.equal(translatePlan("r", "i", "o", 1, env("5")).timeoutMs, 5000);
  assert.equal(translatePlan("r", "i", "o", 1, env("soon")).timeoutMs, 120_000);
  assert.equal(translatePlan("r", "i", "o", 1, env("-1")).timeoutMs, 120_000);
});
