import assert from "node:assert/strict";
import {
  checksum,
  escapeBinary,
  frame,
  fromHex,
  PACKET_SIZE,
  parseHexNumber,
  RspParser,
  toHex,
  unescapeBinary,
} from "./packets.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("packets: frame and checksum", () => {
  assert.equal(checksum(bytes("g")), 0x67);
  assert.equal(new TextDecoder().decode(frame("OK")), "$OK#9a");
  assert.equal(new TextDecoder().decode(frame("")), "$#00");
  // Binary payloads keep every byte (no UTF-8 re-encoding of char codes 128-255).
  assert.deepEqual([...frame("\xff")], [0x24, 0xff, 0x23, 0x66, 0x66]);
});

Deno.test("packets: the parser splits packets, acks and interrupts across feeds", () => {
  const p = new RspParser();
  assert.deepEqual(p.feed(bytes("+$g#6")), [{ kind: "ack" }]);
  const [e] = p.feed(bytes("7"));
  assert.equal(e.kind, "packet");
  assert.equal(e.kind === "packet" && new TextDecoder().decode(e.payload), "g");
  assert.deepEqual(p.feed(new Uint8Array([3, 0x2d])), [{ kind: "interrupt" }, { kind: "nak" }]);
  // Noise between packets is ignored; a 0x03 inside a packet is data.
  const [q] = p.feed(new Uint8Array([0x78, 0x24, 0x03, 0x23, 0x30, 0x33]));
  assert.equal(q.kind, "packet");
});

Deno.test("packets: bad checksums, bad checksum digits and overlong packets are refused", () => {
  const p = new RspParser();
  assert.deepEqual(p.feed(bytes("$g#00")), [{ kind: "bad", reason: "bad checksum" }]);
  assert.deepEqual(p.feed(bytes("$g#zz")), [{ kind: "bad", reason: "bad checksum" }]);
  const long = "$" + "a".repeat(PACKET_SIZE + 1) + "#00";
  assert.deepEqual(p.feed(bytes(long)), [{ kind: "bad", reason: "packet too long" }]);
  // The parser is in step again afterwards.
  assert.equal(p.feed(bytes("$?#3f"))[0].kind, "packet");
});

Deno.test("packets: binary escapes round-trip; a dangling escape is an error", () => {
  const data = new Uint8Array([0x23, 0x24, 0x7d, 0x2a, 0x00, 0xff]);
  const esc = escapeBinary(data);
  assert.deepEqual([...esc], [0x7d, 0x03, 0x7d, 0x04, 0x7d, 0x5d, 0x7d, 0x0a, 0x00, 0xff]);
  assert.deepEqual(unescapeBinary(esc), data);
  assert.equal(unescapeBinary(new Uint8Array([1, 0x7d])), undefined);
});

Deno.test("packets: hex text and numbers; malformed ones are undefined", () => {
  assert.equal(toHex(new Uint8Array([0, 0xab, 0x10])), "00ab10");
  assert.deepEqual(fromHex("00Ab10"), new Uint8Array([0, 0xab, 0x10]));
  assert.equal(fromHex("abc"), undefined);
  assert.equal(fromHex("zz"), undefined);
  assert.equal(parseHexNumber("400580"), 0x400580);
  assert.equal(parseHexNumber(""), undefined);
  assert.equal(parseHexNumber("-1"), undefined);
  assert.equal(parseHexNumber("12345678123456789"), undefined); // 17 digits
  assert.equal(parseHexNumber("ffffffffffffffff"), undefined); // past 2^53
});
