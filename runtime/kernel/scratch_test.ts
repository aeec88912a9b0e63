import assert from "node:assert/strict";
import { SCRATCH_SIZE, Slot, slotSizes } from "./scratch.ts";

Deno.test("scratch: every slot fits, and no two overlap", () => {
  const slots = (Object.keys(Slot) as (keyof typeof Slot)[])
    .map((name) => ({ name, start: Slot[name], end: Slot[name] + slotSizes[name] }))
    .sort((a, b) => a.start - b.start);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    assert(s.end <= SCRATCH_SIZE, `${s.name} ends past the scratch area`);
    if (i > 0) {
      const prev = slots[i - 1];
      assert(prev.end <= s.start, `${prev.name} overlaps ${s.name}`);
    }
  }
});
