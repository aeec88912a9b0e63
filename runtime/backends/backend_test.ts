import assert from "node:assert/strict";
import { registerArg } from "./backend.ts";

/** The register's value from its halves, exactly (BigInt). */
const exact = (hi: number, lo: number) => (BigInt(hi) << 32n) + BigInt(lo >>> 0);

Deno.test("a syscall argument keeps its register's low 32 bits and sign, past 2^53 too", () => {
  const halves: [number, number][] = [
    [0, 0],
    [0, 0xffffffff],
    [-1, 0xffffffff], // -1
    [-1, 0], // -2^32
    [0x1fffff, 0xffffffff], // 2^53 - 1: still exact
    [0x200000, 1], // 2^53 + 1
    [0x7fffffff, 0xffffffff], // 2^63 - 1: kill(0x7fff...ffff) is kill(-1)
    [0x7fffffff, 0x00000003],
    [-0x80000000, 0], // -2^63
    [-0x80000000, 5],
    [-0x200001, 0x80000000],
  ];
  for (const [hi, lo] of halves) {
    const v = registerArg(hi, lo);
    const want = exact(hi, lo);
    assert.ok(Number.isSafeInteger(v), `${want} gives an exact Number`);
    assert.equal(v | 0, Number(BigInt.asIntN(32, want)), `${want}: low 32 bits, signed`);
    assert.equal(v >>> 0, Number(BigInt.asUintN(32, want)), `${want}: low 32 bits, unsigned`);
    assert.equal(Math.sign(v), want === 0n ? 0 : want < 0n ? -1 : 1, `${want}: sign`);
    const a = want < 0n ? -want : want;
    if (a < 2n ** 53n) assert.equal(BigInt(v), want, `${want} is exact below 2^53`);
    else assert.ok(Math.abs(v) >= 2 ** 52, `${want} stays at least 2^52 in magnitude`);
  }
});
