import assert from "node:assert/strict";
import {
  checkAlone,
  checkExpected,
  compareResults,
  judgeableAlone,
  selfCheckCounts,
  selfCheckProblem,
} from "./compare.ts";
import { observed, testCase } from "./testing.ts";

Deno.test("exact: same stdout and status pass", () => {
  const c = testCase("t/x");
  assert.deepEqual(
    compareResults(c, observed("a", { stdout: "hi\n" }), observed("b", { stdout: "hi\n" })),
    [],
  );
});

Deno.test("exact: a different stdout is reported with the first differing line", () => {
  const c = testCase("t/x");
  const d = compareResults(
    c,
    observed("elfuse", { stdout: "1\n2\n3\n" }),
    observed("qemu", { stdout: "1\n2\nthree\n" }),
  );
  assert.equal(d.length, 1);
  assert.equal(d[0].what, "stdout");
  assert.match(d[0].summary, /from line 3/);
  assert.match(d[0].subject!, /^1\n2\n3/);
  assert.match(d[0].reference!, /three/);
});

Deno.test("exact: a different exit status or signal is a difference", () => {
  const c = testCase("t/x");
  const d = compareResults(
    c,
    observed("elfuse", { status: { kind: "signal", name: "SIGSEGV" } }),
    observed("qemu", { status: { kind: "exit", code: 0 } }),
  );
  assert.equal(d.length, 1);
  assert.equal(d[0].what, "status");
  assert.match(d[0].summary, /elfuse SIGSEGV, qemu exit 0/);
});

Deno.test("exact: stopping at a different step is a difference", () => {
  const c = testCase("t/x", { steps: [{ args: [] }, { args: [] }] });
  const d = compareResults(
    c,
    observed("a", { status: { kind: "exit", code: 1 }, stepsRun: 1, stepsTotal: 2 }),
    observed("b", { status: { kind: "exit", code: 1 }, stepsRun: 2, stepsTotal: 2 }),
  );
  assert.equal(d[0].what, "status");
  assert.match(d[0].summary, /step 1 of 2/);
});

Deno.test("exact: binary stdout differences give the byte offset and a hex dump", () => {
  const c = testCase("t/x");
  const a = new Uint8Array([0, 1, 2, 3, 4]);
  const b = new Uint8Array([0, 1, 9, 3, 4]);
  const d = compareResults(c, observed("a", { stdout: a }), observed("b", { stdout: b }));
  assert.equal(d.length, 1);
  assert.match(d[0].summary, /binary stdout differs from byte 2/);
  assert.match(d[0].subject!, /00 01 02 03 04/);
  assert.deepEqual(
    compareResults(c, observed("a", { stdout: a }), observed("b", { stdout: a.slice() })),
    [],
  );
});

Deno.test("exact: the working directory's path is replaced on both sides", () => {
  const c = testCase("t/x");
  const s = observed("a", { stdout: "/tmp/A/x\n", workdir: "/tmp/A" });
  const r = observed("b", { stdout: "/tmp/B/x\n", workdir: "/tmp/B" });
  assert.deepEqual(compareResults(c, s, r), []);
  const r2 = observed("b", { stdout: "/tmp/B/y\n", workdir: "/tmp/B" });
  assert.equal(compareResults(c, s, r2).length, 1);
});

Deno.test("exact: stderr is compared only when the case asks", () => {
  const s = observed("a", { stderr: "warning 1\n" });
  const r = observed("b", { stderr: "warning 2\n" });
  assert.deepEqual(compareResults(testCase("t/x"), s, r), []);
  const d = compareResults(testCase("t/x", { compareStderr: true }), s, r);
  assert.equal(d.length, 1);
  assert.equal(d[0].what, "stderr");
});

Deno.test("normalised: named normalisers hide legitimate differences, not others", () => {
  const c = testCase("t/x", { compare: { mode: "normalised", normalisers: ["pids"] } });
  const s = observed("a", { stdout: "pid 123 ok\n" });
  assert.deepEqual(compareResults(c, s, observed("b", { stdout: "pid 456 ok\n" })), []);
  assert.equal(compareResults(c, s, observed("b", { stdout: "pid 456 KO\n" })).length, 1);
  // Without the normaliser the pids differ.
  assert.equal(
    compareResults(testCase("t/x"), s, observed("b", { stdout: "pid 456 ok\n" })).length,
    1,
  );
});

Deno.test("self-check: both must print N passed, 0 failed and exit 0", () => {
  const c = testCase("t/x", { compare: { mode: "self-check" } });
  const good = (r: string, n = 5) => observed(r, { stdout: `noise\n${n} passed, 0 failed\n` });
  // The counts may differ (e.g. a test that skips on one runner): each side checks itself.
  assert.deepEqual(compareResults(c, good("a", 5), good("b", 6)), []);
  const failing = observed("a", { stdout: "1 passed, 0 failed\n4 passed, 1 failed\n" });
  const d = compareResults(c, failing, good("b"));
  assert.equal(d.length, 1);
  assert.equal(d[0].side, "subject");
  assert.match(d[0].summary, /4 passed, 1 failed/);
  const crashed = observed("b", {
    stdout: "5 passed, 0 failed\n",
    status: { kind: "exit", code: 3 },
  });
  const d2 = compareResults(c, good("a"), crashed);
  assert.equal(d2.length, 1);
  assert.equal(d2[0].side, "reference");
  assert.match(d2[0].summary, /exit 3/);
  assert.match(
    compareResults(c, observed("a", { stdout: "all good\n" }), good("b"))[0].summary,
    /no "N passed/,
  );
});

Deno.test("self-check: the last count line wins", () => {
  assert.deepEqual(selfCheckCounts("3 passed, 1 failed\n9 passed, 0 failed\n"), {
    passed: 9,
    failed: 0,
  });
  assert.equal(selfCheckCounts("nothing"), null);
  assert.equal(selfCheckProblem(observed("a", { stdout: "2 passed, 0 failed\n" })), null);
});

Deno.test("regex: both stdouts must match and the statuses agree", () => {
  const c = testCase("t/x", { compare: { mode: "regex", pattern: "^\\d{4}\\n$" } });
  assert.deepEqual(
    compareResults(c, observed("a", { stdout: "2024\n" }), observed("b", { stdout: "1999\n" })),
    [],
  );
  const d = compareResults(
    c,
    observed("a", { stdout: "20x4\n" }),
    observed("b", { stdout: "1999\n" }),
  );
  assert.equal(d.length, 1);
  assert.equal(d[0].side, "subject");
  const d2 = compareResults(
    c,
    observed("a", { stdout: "2024\n" }),
    observed("b", { stdout: "1999\n", status: { kind: "exit", code: 1 } }),
  );
  assert.equal(d2[0].what, "status");
});

Deno.test("snapshot: a different working directory after the run is a difference", () => {
  const c = testCase("t/x", { snapshot: true });
  const same = compareResults(
    c,
    observed("a", { files: "x file\n" }),
    observed("b", { files: "x file\n" }),
  );
  assert.deepEqual(same, []);
  const d = compareResults(
    c,
    observed("a", { files: "x file\n" }),
    observed("b", { files: "y file\n" }),
  );
  assert.equal(d[0].what, "files");
});

Deno.test("timeouts: a timed-out side is a status difference", () => {
  const c = testCase("t/x");
  const d = compareResults(
    c,
    observed("a", { status: { kind: "timeout", seconds: 5 }, timedOut: true }),
    observed("b"),
  );
  assert.equal(d.length, 1);
  assert.match(d[0].summary, /timeout 5s/);
});

Deno.test("expectations: exit, signal and stdout are checked per side", () => {
  const c = testCase("t/x", { expect: { exit: 3, stdout: "out\n" } });
  assert.deepEqual(
    checkExpected(
      c,
      observed("a", { status: { kind: "exit", code: 3 }, stdout: "out\n" }),
      "subject",
    ),
    [],
  );
  const d = checkExpected(c, observed("a", { stdout: "other\n" }), "reference");
  assert.equal(d.length, 2);
  assert.ok(d.every((x) => x.side === "reference"));
  assert.match(d[0].summary, /a exit 0, expected exit 3/);
  assert.deepEqual([d[1].subject, d[1].reference, d[1].labels], ["other\n", "out\n", [
    "a",
    "expected",
  ]]);
  const sig = testCase("t/y", { expect: { signal: "SIGABRT" } });
  assert.equal(
    checkExpected(sig, observed("a", { status: { kind: "signal", name: "SIGABRT" } }), "subject")
      .length,
    0,
  );
  assert.equal(checkExpected(sig, observed("a"), "subject").length, 1);
});

Deno.test("alone: only self-checking or expecting cases can be judged without a reference", () => {
  assert.equal(judgeableAlone(testCase("t/x")), false);
  assert.equal(judgeableAlone(testCase("t/x", { compare: { mode: "self-check" } })), true);
  assert.equal(judgeableAlone(testCase("t/x", { expect: { exit: 0 } })), true);
  const c = testCase("t/x", { compare: { mode: "self-check" } });
  assert.equal(checkAlone(c, observed("a", { stdout: "1 passed, 0 failed\n" })).length, 0);
  assert.equal(checkAlone(c, observed("a", { stdout: "1 passed, 2 failed\n" })).length, 1);
});

Deno.test("self-check: the excerpt shows the failing lines and the count", () => {
  const c = testCase("t/x", { compare: { mode: "self-check" } });
  const out = "ok - a\nFAIL - b: got 2\nok - c\n2 passed, 1 failed\n";
  const d = compareResults(
    c,
    observed("a", { stdout: out }),
    observed("b", { stdout: "3 passed, 0 failed\n" }),
  );
  assert.equal(d[0].subject, "FAIL - b: got 2\n2 passed, 1 failed");
  const crash = compareResults(
    c,
    observed("a", { stdout: "ok - a\nok - b\n" }),
    observed("b", { stdout: "1 passed, 0 failed\n" }),
  );
  assert.equal(crash[0].subject, "ok - a\nok - b");
});
