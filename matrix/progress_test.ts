import assert from "node:assert/strict";
import { ProgressPrinter } from "./progress.ts";
import type { Progress } from "./run.ts";
import type { Outcome } from "./types.ts";

const outcome = (name: string, verdict: Outcome["verdict"], reason = ""): Outcome => ({
  case: name,
  group: "t",
  verdict,
  reason,
  differences: [],
  command: name,
});

const progress = (done: number, running: string[], finished?: Outcome): Progress => ({
  done,
  total: 3,
  current: running[running.length - 1] ?? "",
  running,
  elapsedMs: 0,
  finished,
});

Deno.test("progress in a log: a start line, failures at once, a status line per interval", () => {
  let out = "";
  const p = new ProgressPrinter({ terminal: false, write: (t) => (out += t) }, 15);
  p.start(3, 2, "elfuse against qemu-user");
  assert.equal(out, "matrix: 3 case(s), 2 at a time: elfuse against qemu-user\n");
  out = "";
  p.update(progress(0, ["t/a"]));
  p.update(progress(0, ["t/a", "t/b"]));
  p.update(progress(1, ["t/b"], outcome("t/a", "pass")));
  assert.equal(out, "", "nothing for a start or a pass");
  p.update(progress(2, [], outcome("t/b", "fail", "stdout differs\nmore")));
  assert.equal(out, "matrix: [2/3] FAIL t/b: stdout differs\n");
  out = "";
  p.update(progress(2, ["t/c"]));
  p.tick(10_000);
  assert.equal(out, "", "not yet due");
  p.tick(16_000);
  assert.equal(out, "matrix: [2/3] 16s, 1 failed so far; running t/c\n");
  out = "";
  p.tick(20_000);
  assert.equal(out, "", "the next one is due 15 s later");
  p.finish();
  assert.equal(out, "");
});

Deno.test("progress on a terminal: one line redrawn in place, cleared at the end", () => {
  let out = "";
  const p = new ProgressPrinter({ terminal: true, write: (t) => (out += t), columns: () => 20 });
  p.start(3, 2, "x");
  assert.equal(out, "");
  p.update(progress(1, ["fixture/a-long-name"], outcome("t/a", "fail")));
  assert.equal(out, "\r\x1b[2K[1/3] 1 failed fixt");
  out = "";
  p.finish();
  assert.equal(out, "\r\x1b[2K");
});
