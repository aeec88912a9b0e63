import assert from "node:assert/strict";
import { entryProblems, findEntry, judge, KNOWN_FILE, staleEntries } from "./known.ts";
import { knownDifferences } from "./known_differences.ts";
import type { Difference, KnownDifference } from "./types.ts";

const diff: Difference = { what: "stdout", side: "both", summary: "stdout differs from line 1" };
const entries: KnownDifference[] = [
  { case: "busybox/a", reference: "qemu-user", reason: "qemu only" },
  { case: "busybox/b", reference: "*", reason: "everywhere" },
];

Deno.test("findEntry matches the case and the reference or *", () => {
  assert.equal(findEntry(entries, "busybox/a", "qemu-user")?.reason, "qemu only");
  assert.equal(findEntry(entries, "busybox/a", "native"), undefined);
  assert.equal(findEntry(entries, "busybox/b", "native")?.reason, "everywhere");
  assert.equal(findEntry(entries, "busybox/c", "qemu-user"), undefined);
});

Deno.test("judge: pass, fail, known, and fixed — remove the entry", () => {
  assert.deepEqual(judge([], undefined), { verdict: "pass", reason: "" });
  assert.deepEqual(judge([diff], undefined), { verdict: "fail", reason: diff.summary });
  assert.deepEqual(judge([diff], entries[0]), { verdict: "known", reason: "known: qemu only" });
  const fixed = judge([], entries[0]);
  assert.equal(fixed.verdict, "fixed");
  assert.equal(fixed.reason, `fixed — remove the entry from ${KNOWN_FILE}`);
});

Deno.test("staleEntries: entries naming no case of the corpus", () => {
  assert.deepEqual(staleEntries(entries, ["busybox/a", "busybox/b"]), []);
  assert.deepEqual(staleEntries(entries, ["busybox/a"]), [entries[1]]);
});

Deno.test("entryProblems: missing fields and duplicates", () => {
  assert.deepEqual(entryProblems(entries), []);
  const bad = [
    { case: "x", reference: "*", reason: "" },
    { case: "", reference: "*", reason: "r" },
    { case: "y", reference: "*", reason: "r" },
    { case: "y", reference: "*", reason: "again" },
  ];
  const p = entryProblems(bad);
  assert.equal(p.length, 3);
  assert.match(p[0], /entry 1: no reason/);
  assert.match(p[1], /entry 2: no case/);
  assert.match(p[2], /entry 4: duplicate/);
});

Deno.test("the real list is well formed", () => {
  assert.deepEqual(entryProblems(knownDifferences), []);
});

Deno.test("judge: an intermittent entry that does not differ this time is a pass", () => {
  const entry = { case: "c", reference: "*", reason: "racy", intermittent: true };
  assert.equal(judge([], entry).verdict, "pass");
  assert.equal(judge([], { ...entry, intermittent: false }).verdict, "fixed");
});

Deno.test("judge: a known difference does not cover a subject that timed out", () => {
  const timedOut: Difference = {
    what: "status",
    side: "both",
    summary: "elfuse timed out, qemu-user exit 0",
  };
  const judged = judge([timedOut], entries[0], true);
  assert.equal(judged.verdict, "fail");
  assert.match(judged.reason, /timed out .*does not cover a hang.*elfuse timed out/);
  // Without the hang the same entry covers it.
  assert.equal(judge([timedOut], entries[0], false).verdict, "known");
});
