import assert from "node:assert/strict";
import { diffHtml, endText, renderHtml } from "./report_html.ts";
import { renderJson } from "./report_json.ts";
import { renderJunit, xmlEscape } from "./report_junit.ts";
import { formatTable, ratioText, renderText } from "./report_text.ts";
import { runMatrix } from "./run.ts";
import { FakeRunner, observed, testCase } from "./testing.ts";
import type { MatrixResult, Observed } from "./types.ts";

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
  }).then((r) => ({ ...r, environment: ENV }));
}

const ENV = {
  elfuse: "0.1.0, commit 0123456789ab",
  deno: "2.9.6",
  libunicorn: "2.1.4 (/lib/libunicorn.so.2)",
  qemu: "qemu-aarch64 version 7.2.22",
  host: "linux/x86_64",
  binfmt: "no binfmt_misc entry for aarch64 programs: qemu-user cannot follow an execve",
};

/** The opening tags of an XML text, checked for nesting; throws at the first one out of place. */
function checkNesting(xml: string): string[] {
  const open: string[] = [];
  const seen: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([\w:-]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (!closing) seen.push(name);
    if (closing) {
      const top = open.pop();
      if (top !== name) throw new Error(`</${name}> closes <${top}>`);
    } else if (!selfClosing) open.push(name);
  }
  if (open.length) throw new Error(`unclosed: ${open.join(", ")}`);
  return seen;
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

Deno.test("html: one self-contained page, failures first, diffs by meaning, filters", async () => {
  const html = renderHtml(await sample());
  assert.match(html, /^<!DOCTYPE html>/);
  // One inline script; nothing fetched.
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.doesNotMatch(html, /<script[^>]*src=|<link|\ssrc=|url\(|@import/i);
  assert.deepEqual([...html.matchAll(/https?:\/\/[^"' ]+/g)].map((m) => m[0]), [
    "http://www.w3.org/2000/svg",
  ]);
  assert.match(html, /<title>FAILED: elfuse matrix, 1 passed, 1 failed, 1 skipped<\/title>/);
  // Groups in order: failures (open), passed, skipped.
  const groups = [...html.matchAll(/<h2>(\w[\w ]*) \((\d+)\)<\/h2>/g)].map((m) => m[1]);
  assert.deepEqual(groups, ["Failures", "Passed", "Skipped"]);
  assert.match(
    html,
    /<details class="case" id="case-0" data-verdict="fail" data-name="t\/bad" open>/,
  );
  assert.match(html, /data-verdict="pass" data-name="t\/good">/, "passes start closed");
  // The differing line, escaped, coloured by meaning: the reference's line is missing, ours extra.
  assert.match(
    html,
    /<div class="ctx">line 1<\/div><div class="missing">line 2<\/div><div class="extra">line &#60;2&#62;<\/div>/,
  );
  // The environment, the legend, the filters and the search box.
  assert.match(
    html,
    /<tr><th>libunicorn<\/th><td>2\.1\.4 \(\/lib\/libunicorn\.so\.2\)<\/td><\/tr>/,
  );
  assert.match(html, /class="legend"/);
  for (const v of ["fail", "fixed", "known", "pass", "skip"]) {
    assert.match(html, new RegExp(`<input type="checkbox" data-verdict="${v}" checked>`));
  }
  assert.match(html, /<input type="search" id="search"/);
  // How each run ended, and how to run it again.
  assert.match(html, /<b>elfuse<\/b>: exit 0 after 0\.03 s/);
  assert.match(
    html,
    /# the matrix, for this case alone\ndeno task matrix --filter &#39;\^t\/bad\$&#39; --keep/,
  );
  assert.equal((html.match(/<rect /g) ?? []).length, 2, "one bar per case that ran on both");
  assert.match(html, /<title>t\/bad: x3\.00<\/title>/);
});

Deno.test("html: killed runs say how, with the time; diffs fold long identical stretches", () => {
  const obs = (status: Observed["status"], wallMs: number) =>
    observed("elfuse", { status, wallMs });
  assert.deepEqual(endText(obs({ kind: "timeout", seconds: 60 }, 60012)), {
    text: "killed: timed out after 60 s (ran 60.01 s)",
    killed: true,
  });
  assert.deepEqual(endText(obs({ kind: "signal", name: "SIGSEGV" }, 310)), {
    text: "killed by SIGSEGV after 0.31 s",
    killed: true,
  });
  assert.equal(endText(obs({ kind: "exit", code: 1 }, 5)).killed, false);
  const same = Array.from({ length: 20 }, (_, i) => `l${i}`);
  const d = diffHtml([...same, "mine"].join("\n"), [...same, "theirs"].join("\n"));
  assert.match(d, /<div class="gap">… 17 identical line\(s\)<\/div>/);
  assert.match(
    d,
    /<div class="ctx">l19<\/div><div class="missing">theirs<\/div><div class="extra">mine<\/div>/,
  );
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
  assert.deepEqual(j.environment, ENV);
  assert.equal(j.outcomes[1].reproduce.matrix, "deno task matrix --filter '^t/bad$' --keep");
});

Deno.test("junit: one suite per group, failures and skips with their reasons", async () => {
  const xml = renderJunit(await sample());
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
  const tags = checkNesting(xml.replace(/^<\?xml[^>]*>/, ""));
  assert.equal(tags.filter((t) => t === "testcase").length, 3);
  assert.match(
    xml,
    /<testsuites name="elfuse matrix: 1 passed, 1 failed, 1 skipped" tests="3" failures="1" errors="0" skipped="1"/,
  );
  assert.match(xml, /<testsuite name="matrix.test" tests="3" failures="1" errors="0" skipped="1"/);
  assert.match(xml, /<testcase classname="matrix.test" name="t\/good" time="0.040"\/>/);
  assert.match(xml, /<failure message="stdout differs from line 2[^"]*" type="fail">/);
  assert.match(xml, /line &#60;2&#62;/, "output is escaped");
  assert.match(xml, /<skipped message="not built: run `deno task fixtures`"\/>/);
  assert.match(xml, /<property name="libunicorn" value="2.1.4 \(\/lib\/libunicorn.so.2\)"\/>/);
  assert.throws(() => checkNesting("<a><b></a></b>"), /closes/);
  assert.equal(xmlEscape("a\x1b[1m<&>\"'\tb"), "a\\x1b[1m&#60;&#38;&#62;&#34;&#39;\tb");
});

Deno.test("text: past the failure limit, failing cases are only named", async () => {
  const out = renderText(await sample(), { failures: 0 });
  assert.doesNotMatch(out, /^FAIL t\/bad/m);
  assert.match(out, /^… and 1 more failure\(s\), detailed in --html and --json: t\/bad$/m);
});
