import assert from "node:assert/strict";
import { PROT_EXEC, PROT_READ, PROT_WRITE, VmaList } from "./vmas.ts";

const RW = PROT_READ | PROT_WRITE;
const area = (start: number, end: number, prot = RW, name = "") => ({
  start,
  end,
  prot,
  name,
  shared: false,
});
const spans = (l: VmaList) => l.list.map((v) => [v.start, v.end, v.prot]);

Deno.test("adjacent areas with equal attributes merge; others stay apart", () => {
  const l = new VmaList();
  l.insert(area(0x1000, 0x3000));
  l.insert(area(0x3000, 0x5000));
  l.insert(area(0x5000, 0x6000, PROT_READ));
  assert.deepEqual(spans(l), [[0x1000, 0x5000, RW], [0x5000, 0x6000, PROT_READ]]);
});

Deno.test("remove splits areas and returns exactly the removed pieces", () => {
  const l = new VmaList();
  l.insert(area(0x1000, 0x9000));
  const removed = l.remove(0x3000, 0x5000);
  assert.deepEqual(removed.map((v) => [v.start, v.end]), [[0x3000, 0x5000]]);
  assert.deepEqual(spans(l), [[0x1000, 0x3000, RW], [0x5000, 0x9000, RW]]);
  assert.equal(l.find(0x4000), undefined);
  assert.equal(l.find(0x5000)?.start, 0x5000);
});

Deno.test("protect changes a middle range and refuses unmapped holes", () => {
  const l = new VmaList();
  l.insert(area(0x1000, 0x5000));
  assert.ok(l.protect(0x2000, 0x3000, PROT_READ | PROT_EXEC));
  assert.deepEqual(spans(l), [[0x1000, 0x2000, RW], [0x2000, 0x3000, PROT_READ | PROT_EXEC], [
    0x3000,
    0x5000,
    RW,
  ]]);
  assert.equal(l.protect(0x4000, 0x6000, PROT_READ), false);
  assert.ok(l.allows(0x1000, 0x1000, PROT_WRITE));
  assert.equal(
    l.allows(0x1fff, 2, PROT_WRITE),
    false,
    "a write may not straddle into a read-only page",
  );
  assert.equal(l.allows(0x4fff, 2, PROT_READ), false, "nor run off the end");
});

Deno.test("top-down search finds the highest gap that fits", () => {
  const l = new VmaList();
  l.insert(area(0x10000, 0x20000));
  l.insert(area(0x80000, 0x90000));
  assert.equal(l.findFreeTopDown(0x10000, 0x90000, 0x10000), 0x70000);
  assert.equal(l.findFreeTopDown(0x60000, 0x90000, 0x10000), 0x20000);
  assert.equal(l.findFreeTopDown(0x70000, 0x90000, 0x10000), -1);
  assert.ok(l.isFree(0x20000, 0x80000));
  assert.equal(l.isFree(0x1f000, 0x21000), false);
});
