import assert from "node:assert/strict";
import {
  perIterationRange,
  perIterationRatioRange,
  ratioRange,
  SPREAD_LIMIT,
  unreliability,
} from "./stats.ts";

const s = (median: number, min: number, max: number) => ({ median, min, max });

Deno.test("a ratio whose runs agree is a finding; one they could put 2x apart is not", () => {
  // hello: 54 ms (50-60) against 11.6 ms (10-14): 3.6x to 6x.
  const r = ratioRange(s(54, 50, 60), s(11.6, 10, 14));
  assert.ok(Math.abs(r[0] - 50 / 14) < 1e-9 && r[1] === 6);
  assert.equal(unreliability(r), null);
  const wide = ratioRange(s(54, 30, 90), s(11.6, 10, 14));
  assert.ok(wide[1] / wide[0] > SPREAD_LIMIT);
  assert.match(unreliability(wide)!, /^the runs allow anything from 2\.14x to 9\.00x$/);
});

Deno.test("the quick clock_gettime case: a per-iteration cost the noise could make zero", () => {
  // 1000 iterations cost ~0.07 ms, against start-up times that vary by several ms.
  const elfuse = perIterationRange(s(55.1, 52, 61), s(55.0, 51, 60), 1000);
  const qemu = perIterationRange(s(11.8, 11, 13), s(11.7, 11, 12.5), 1000);
  assert.ok(elfuse[0] < 0);
  const reason = unreliability(perIterationRatioRange(elfuse, qemu), { elfuse, qemu });
  assert.match(reason!, /could be zero/);
  // A full run: a million iterations dwarf the start-up noise.
  const e2 = perIterationRange(s(122, 120, 125), s(55, 52, 58), 1e6);
  const q2 = perIterationRange(s(158, 155, 160), s(12, 11, 13), 1e6);
  assert.equal(unreliability(perIterationRatioRange(e2, q2), { elfuse: e2, qemu: q2 }), null);
});
