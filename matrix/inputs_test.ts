import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  binary,
  csvTable,
  gzip,
  numberLines,
  once,
  Prng,
  repeatedLines,
  tar,
  textLines,
} from "./inputs.ts";

Deno.test("Prng is seeded and reproducible", () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const xs = Array.from({ length: 5 }, () => a.u32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.u32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.u32()));
  for (let i = 0; i < 1000; i++) {
    const v = a.below(7);
    assert.ok(v >= 0 && v < 7 && Number.isInteger(v));
  }
});

Deno.test("generators give the asked sizes, deterministically", () => {
  for (const size of [1, 7, 600, 65536]) {
    const t = textLines(1, size);
    assert.equal(t.length, size);
    assert.equal(t[t.length - 1], 10);
    assert.deepEqual(t, textLines(1, size));
  }
  assert.notDeepEqual(textLines(1, 600), textLines(2, 600));
  assert.equal(binary(3, 1025).length, 1025);
  assert.deepEqual(binary(3, 64), binary(3, 64));
  assert.equal(csvTable(1, 10).split("\n").length, 12);
  assert.equal(numberLines(1, 10).split("\n").length, 11);
  assert.equal(repeatedLines(1, 30).split("\n").length, 31);
});

Deno.test("gzip round-trips and tar writes valid ustar headers", () => {
  const data = textLines(5, 5000);
  assert.deepEqual(new Uint8Array(gunzipSync(gzip(data))), data);
  const t = tar([{ name: "d/" }, { name: "d/f", content: new TextEncoder().encode("hello") }, {
    name: "d/l",
    link: "f",
  }]);
  assert.equal(t.length % 512, 0);
  assert.equal(t.length, 512 * 3 + 512 + 1024);
  const header = t.subarray(512, 1024);
  const field = (off: number, len: number) =>
    new TextDecoder().decode(header.subarray(off, off + len)).replace(/\0.*$/s, "");
  assert.equal(field(0, 100), "d/f");
  assert.equal(parseInt(field(124, 12), 8), 5);
  assert.equal(field(257, 6), "ustar");
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  assert.equal(parseInt(field(148, 8), 8), sum);
});

Deno.test("once computes once", () => {
  let n = 0;
  const f = once(() => ++n);
  assert.equal(f(), 1);
  assert.equal(f(), 1);
});
