import assert from "node:assert/strict";
import { sideBySide } from "./diff.ts";

Deno.test("sideBySide pairs equal lines and shows changes, removals and additions", () => {
  assert.deepEqual(sideBySide("a\nb\n", "a\nc\n"), [
    { kind: "same", left: "a", right: "a" },
    { kind: "change", left: "b", right: "c" },
  ]);
  const rows = sideBySide("a\nx\nb\n", "a\nb\ny\n");
  assert.deepEqual(rows.map((r) => r.kind), ["same", "left", "same", "right"]);
  assert.deepEqual(sideBySide("", ""), []);
  assert.deepEqual(sideBySide("same\n", "same\n").map((r) => r.kind), ["same"]);
});
