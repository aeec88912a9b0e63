import assert from "node:assert/strict";
import { accessSize } from "./watchpoints.ts";

Deno.test("watchpoints: the size of a load or store from its encoding", () => {
  assert.equal(accessSize(0x39000000), 1); // strb w0, [x0]
  assert.equal(accessSize(0x79000000), 2); // strh w0, [x0]
  assert.equal(accessSize(0xb9000000), 4); // str w0, [x0]
  assert.equal(accessSize(0xf9400000), 8); // ldr x0, [x0]
  assert.equal(accessSize(0x3d800000), 16); // str q0, [x0]
  assert.equal(accessSize(0xa9bf7bfd), 16); // stp x29, x30, [sp, #-16]!
  assert.equal(accessSize(0x29000400), 8); // stp w0, w1, [x0]
  assert.equal(accessSize(0xad000400), 32); // stp q0, q1, [x0]
  assert.equal(accessSize(0xc85f7c00), 8); // ldxr x0, [x0]
  assert.equal(accessSize(0x4c002000), 64); // st1 {v0.16b-v3.16b}, [x0]
});
