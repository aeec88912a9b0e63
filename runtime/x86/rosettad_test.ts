// The rosettad AOT bridge's protocol (shared/reference/elfuse.md §1.18), byte for byte.
import assert from "node:assert/strict";
import {
  aotCachePath,
  aotReply,
  digestHex,
  fileDigest,
  handshakeReply,
  isRosettadAddress,
  missReply,
  RequestReader,
  translatePlan,
  translateTimeoutMs,
} from "./rosettad.ts";
import { translatorCommand } from "./rosettad_bridge.ts";

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
  const r = new RequestReader();
  assert.deepEqual(r.take(enc("?"), []), { op: "handshake" });
  assert.deepEqual(r.take(enc("q"), []), { op: "quit" });
  const digest = new Uint8Array(32).fill(7);
  assert.deepEqual(r.take(new Uint8Array([0x64, ...digest]), []), { op: "digest", digest });
  const params = new Uint8Array(256).fill(9);
  assert.deepEqual(r.take(new Uint8Array([0x74, ...params]), [5]), {
    op: "translate",
    fd: 5,
    params,
  });
  assert.deepEqual(r.take(enc("x"), [4]), { error: "unknown request byte 0x78", fatal: false });
  assert.deepEqual(r.take(new Uint8Array(0), []), { error: "empty message", fatal: false });
});

Deno.test("a command's payload may come in the next message, as the original reads it", () => {
  const r = new RequestReader();
  const digest = new Uint8Array(32).fill(3);
  assert.equal(r.take(enc("d"), []), undefined, "'d' alone waits for its digest");
  assert.deepEqual(r.take(digest, []), { op: "digest", digest });
  assert.equal(r.take(enc("t"), []), undefined, "'t' alone waits for its fd");
  assert.deepEqual(r.take(enc("pp"), [8]), { op: "translate", fd: 8, params: enc("pp") });
  assert.equal(r.take(enc("t"), []), undefined);
  assert.deepEqual(r.take(enc("?"), []), { error: "'t' brought 0 fds, not one", fatal: true });
  assert.deepEqual(r.take(enc("?"), []), { op: "handshake" }, "and then reads afresh");
});

Deno.test("bad payloads end the exchange: they cannot be read in step", () => {
  const r = new RequestReader();
  assert.deepEqual(r.take(new Uint8Array([0x64, 1, 2]), []), {
    error: "'d' carries 2 bytes, not a digest",
    fatal: true,
  });
  const params = new Uint8Array(257);
  assert.deepEqual(r.take(new Uint8Array([0x74, ...params]), [5]), {
    error: "'t' parameters: 257 bytes",
    fatal: true,
  });
  assert.deepEqual(r.take(enc("tx"), []), { error: "'t' brought 0 fds, not one", fatal: true });
  assert.deepEqual(r.take(enc("tx"), [1, 2]), { error: "'t' brought 2 fds, not one", fatal: true });
});

Deno.test("the replies: HIT (1) or MISS (0); HIT, digest, then the fd with a one-byte iov", () => {
  assert.deepEqual(handshakeReply(), [{ data: new Uint8Array([1]), fds: [] }]);
  assert.deepEqual(missReply(), [{ data: new Uint8Array([0]), fds: [] }]);
  const digest = new Uint8Array(32).map((_, i) => i);
  assert.deepEqual(aotReply(11, digest), [
    { data: new Uint8Array([1]), fds: [] },
    { data: digest, fds: [] },
    { data: new Uint8Array(1), fds: [11] },
  ]);
  assert.deepEqual(aotReply(12), [
    { data: new Uint8Array([1]), fds: [] },
    { data: new Uint8Array(1), fds: [12] },
  ], "a 'd' hit: no digest");
  assert.throws(() => aotReply(11, digest.subarray(1)), /32 bytes/);
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

Deno.test("a miss runs the command into a temporary file of its own, then renames it", () => {
  assert.deepEqual(translatePlan(["elfuse", "/r/rosettad"], "/in", "/c/x.aot", "42.1"), {
    args: ["elfuse", "/r/rosettad", "translate", "/in", "/c/x.aot.tmp.42.1"],
    temp: "/c/x.aot.tmp.42.1",
    output: "/c/x.aot",
  });
});

Deno.test("translations may take 120 s unless ELFUSE_ROSETTAD_TIMEOUT says otherwise", () => {
  const env = (v?: string) => (n: string) => n === "ELFUSE_ROSETTAD_TIMEOUT" ? v : undefined;
  assert.equal(translateTimeoutMs(env()), 120_000);
  assert.equal(translateTimeoutMs(env("5")), 5000);
  assert.equal(translateTimeoutMs(env("0.5")), 500);
  assert.equal(translateTimeoutMs(env("soon")), 120_000);
  assert.equal(translateTimeoutMs(env("-1")), 120_000);
});

Deno.test("the translator: elfuse running Apple's rosettad, or what the test variables name", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const apple = translatorCommand(env({}));
  assert.equal(apple.at(-1), "/Library/Apple/usr/libexec/oah/RosettaLinux/rosettad");
  assert.ok(apple.length >= 2, "run by elfuse itself");
  assert.equal(translatorCommand(env({ ELFUSE_ROSETTAD: "/t/fake" })).at(-1), "/t/fake");
  assert.deepEqual(translatorCommand(env({ ELFUSE_ROSETTAD_COMMAND: " sh  /t/x.sh " })), [
    "sh",
    "/t/x.sh",
  ]);
});
