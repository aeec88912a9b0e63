import assert from "node:assert/strict";
import { findCycles, valueImports } from "./check_cycles.ts";

Deno.test("import cycles: type-only and dynamic imports are not edges", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "./b.ts";',
    'import { type C, type D } from "./c.ts";',
    'import { type E, f } from "./e.ts";',
    'export { g } from "./g.ts";',
    'export type { H } from "./h.ts";',
    'export const s = "./not_an_import.ts";',
    'const lazy = await import("./lazy.ts");',
    'import {\n  x,\n  y,\n} from "./multi.ts";',
    'import "./side.ts";',
    'import { parseArgs } from "node:util";',
  ].join("\n");
  const got = valueImports("/p/m.ts", text).map((f) => f.slice(3)).sort();
  assert.deepEqual(got, ["a.ts", "e.ts", "g.ts", "multi.ts", "side.ts"]);
});

Deno.test("import cycles: a cycle is found and reported once per entry", () => {
  const graph = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", []],
  ]);
  assert.deepEqual(findCycles(graph), [["a", "b", "c"]]);
  assert.deepEqual(findCycles(new Map([["a", ["b"]], ["b", []]])), []);
});
