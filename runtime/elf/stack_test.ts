import assert from "node:assert/strict";
import { AT, buildStack } from "./stack.ts";

Deno.test("the initial stack holds argc, argv, envp and auxv as Linux lays them out", () => {
  const size = 1 << 16;
  const mem = new Uint8Array(size);
  const view = new DataView(mem.buffer);
  const random = new Uint8Array(16).map((_, i) => i + 1);
  const { sp, auxvAddress } = buildStack(mem, view, size, {
    argv: ["prog", "a b", ""],
    envp: ["X=1", "PATH=/bin"],
    execfn: "/bin/prog",
    auxv: [[AT.PAGESZ, 4096], [AT.ENTRY, 0x400123]],
    random,
  });
  assert.equal(sp % 16, 0, "SP is 16-byte aligned");
  const u64 = (a: number) => Number(view.getBigUint64(a, true));
  const str = (a: number) => new TextDecoder().decode(mem.subarray(a, mem.indexOf(0, a)));
  assert.equal(u64(sp), 3);
  assert.deepEqual([1, 2, 3].map((i) => str(u64(sp + i * 8))), ["prog", "a b", ""]);
  assert.equal(u64(sp + 4 * 8), 0);
  assert.deepEqual([5, 6].map((i) => str(u64(sp + i * 8))), ["X=1", "PATH=/bin"]);
  assert.equal(u64(sp + 7 * 8), 0);
  assert.equal(auxvAddress, sp + 8 * 8);
  const aux = new Map<number, number>();
  for (let a = auxvAddress;; a += 16) {
    aux.set(u64(a), u64(a + 8));
    if (u64(a) === AT.NULL) break;
  }
  assert.equal(aux.get(AT.PAGESZ), 4096);
  assert.equal(aux.get(AT.ENTRY), 0x400123);
  assert.equal(str(aux.get(AT.EXECFN)!), "/bin/prog");
  assert.equal(str(aux.get(AT.PLATFORM)!), "aarch64");
  assert.deepEqual([...mem.subarray(aux.get(AT.RANDOM)!, aux.get(AT.RANDOM)! + 16)], [...random]);
  // Strings lie above the tables, below the top.
  assert.ok(u64(sp + 8) > auxvAddress && u64(sp + 8) < size);
});
