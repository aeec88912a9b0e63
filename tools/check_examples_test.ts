import assert from "node:assert/strict";
import { missingExamples } from "./check_examples.ts";

Deno.test("check_examples: exported functions and classes need an @example; types do not", () => {
  const loc = (line: number) => ({ filename: "file:///r/matrix/run.ts", line });
  const doc = {
    nodes: {
      "file:///r/mod.ts": {
        symbols: [
          {
            name: "withExample",
            declarations: [{
              kind: "function",
              location: loc(1),
              jsDoc: { tags: [{ kind: "example" }] },
            }],
          },
          {
            name: "bare",
            declarations: [{
              kind: "function",
              location: loc(2),
              jsDoc: { tags: [{ kind: "param" }] },
            }],
          },
          { name: "Klass", declarations: [{ kind: "class", location: loc(3) }] },
          { name: "Options", declarations: [{ kind: "interface", location: loc(4) }] },
          { name: "LIMIT", declarations: [{ kind: "variable", location: loc(5) }] },
        ],
      },
    },
  };
  assert.deepEqual(missingExamples(doc), ["matrix/run.ts:2 bare", "matrix/run.ts:3 Klass"]);
});
