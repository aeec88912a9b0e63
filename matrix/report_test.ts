import assert from "node:assert/strict";
import { renderHtml } from "./report_html.ts";
import { renderJson } from "./report_json.ts";
import { formatTable, ratioText, renderText } from "./report_text.ts";
import { runMatrix } from "./run.ts";
import { FakeRunner, testCase } from "./testing.ts";
import type { MatrixResult } from "./types.ts";

async function sample(): Promise<MatrixResult> {
  const subject = new FakeRunner("elfuse", (inv) => ({
    stdout: inv.args[0] === "bad" ? "line 1\nline <2>\n" : `${inv.args[0]}\n`,
    wallMs: 30,
  }));
  const reference = new FakeRunner("qemu-user", (inv) => ({
    stdout: inv.args[0] === "bad" ? "line 1\nline 2\n" : `${inv.args[0]}\n`,
    wallMs: 10,
  }));
  return await runMatrix({
    cases: [
      testCase("t/good", { steps: [{ args: ["good"] }] }),
      testCase("t/bad", { steps: [{ args: ["bad"] }] }),
      testCase("t/skipped", { skip: "not built: run `deno task fixtures`" }),
    ],
    subject,
    reference,
    notes: ["a note"],
  });
}

Deno.test("text: table, failure details, and the summary line last", async () => {
  const r = await sample();
  const out = renderText(r);
  const lines = out.trimEnd().split("\n");
  assert.equal(lines[lines.length - 1], "1 passed, 1 failed, 1 skipped");
  assert.match(out, /^case\s+elfuse\s+qemu-user\s+verdict\s+time ratio$/m);
  assert.match(out, /^t\/good\s+exit 0 0\.03s\s+exit 0 0\.01s\s+pass\s+x3\.00$/m);
  assert.match(out, /^t\/bad\s+.*FAIL/m);
  assert.match(out, /^FAIL t\/bad: stdout differs from line 2/m);
  assert.match(out, /line <2>/);
  assert.match(out, /^skip 1: not built: run `deno task fixtures` \(t\/skipped\)$/m);
  assert.match(out, /^note: a note$/m);
  assert.equal(formatTable(r).split("\n").length, 5);
});

Deno.test("text: ratios", () => {
  assert.equal(ratioText(undefined), "-");
  assert.equal(ratioText(2), "x2.00");
  assert.equal(ratioText(12.34), "x12.3");
  assert.equal(ratioText(345.6), "x346");
});

Deno.test("html: one self-contained page with the table, the diff and the chart", async () => {
  const html = renderHtml(await sample());
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<script|<link|src=|url\(|@import/i);
  // The only URL is the SVG namespace, which is never fetched.
  assert.deepEqual([...html.matchAll(/https?:\/\/[^"' ]+/g)].map((m) => m[0]), [
    "http://www.w3.org/2000/svg",
  ]);
  assert.match(html, /1 passed, 1 failed, 1 skipped/);
  assert.match(html, /<a href="#case-1">t\/bad<\/a>/);
  assert.match(html, /id="case-1"/);
  // The differing line, escaped, on its side of a changed row.
  assert.match(
    html,
    /<tr class="change"><td class="l">line &#60;2&#62;<\/td><td class="r">line 2<\/td><\/tr>/,
  );
  assert.match(html, /<tr class="same"><td class="l">line 1<\/td>/);
  assert.equal((html.match(/<rect /g) ?? []).length, 2, "one bar per case that ran on both");
  assert.match(html, /<title>t\/bad: x3\.00<\/title>/);
  assert.doesNotMatch(html, /id="case-0"/, "a passing case has no diff section");
});

Deno.test("json: every result, with streams summarised", async () => {
  // deno-lint-ignore no-explicit-any
  const j = JSON.parse(await renderJson(await sample())) as any;
  assert.equal(j.summary, "1 passed, 1 failed, 1 skipped");
  assert.equal(j.outcomes.length, 3);
  assert.equal(j.outcomes[1].verdict, "fail");
  assert.equal(j.outcomes[1].subject.stdout.text, "line 1\nline <2>\n");
  assert.equal(j.outcomes[1].subject.stdout.bytes, 16);
  assert.match(j.outcomes[1].subject.stdout.sha256, /^[0-9a-f]{64}$/);
  assert.equal(j.outcomes[2].subject, undefined);
});

Deno.test("text: past the failure limit, failing cases are only named", async () => {
  const out = renderText(await sample(), { failures: 0 });
  assert.doesNotMatch(out, /^FAIL t\/bad/m);
  assert.match(out, /^… and 1 more failure\(s\), detailed in --html and --json: t\/bad$/m);
});
