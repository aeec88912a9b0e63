/**
 * Comparison of two observed results (the subject, elfuse, against the reference), by the case's
 * mode: exact, self-check, regex, or normalised; plus the fixture's own expectation and the
 * working-directory snapshot. Returns the differences; none means the case passes.
 *
 * @module
 */

import { normalise } from "./normalise.ts";
import { firstDifference, hexdump, isText, sameStatus, statusText, text } from "./status.ts";
import type { Case, Comparison, Difference, NormaliserName, Observed } from "./types.ts";

/** Lines of context kept in an excerpt before the first differing line. */
const CONTEXT_BEFORE = 5;
/** Lines kept in an excerpt from the first differing line on. */
const EXCERPT_LINES = 200;
/** Characters kept in an excerpt at most. */
const EXCERPT_CHARS = 32 * 1024;

/** The status of a result with how far through the steps it got, e.g. `exit 1 (step 1 of 2)`. */
export function statusWithSteps(o: Observed): string {
  const s = statusText(o.status);
  return o.stepsRun < o.stepsTotal ? `${s} (step ${o.stepsRun} of ${o.stepsTotal})` : s;
}

/** The last `N passed, M failed` line of a self-checking program's output. */
export function selfCheckCounts(stdout: string): { passed: number; failed: number } | null {
  const all = [...stdout.matchAll(/(\d+) passed, (\d+) failed/g)];
  if (all.length === 0) return null;
  const m = all[all.length - 1];
  return { passed: Number(m[1]), failed: Number(m[2]) };
}

/**
 * What to show of a failed self-check: its failing lines (`FAIL ...`, `not ok ...`) and its count
 * line, or the end of its output when it has none of those.
 */
export function selfCheckExcerpt(stdout: string): string {
  const lines = stdout.replace(/\n$/, "").split("\n");
  const keep = lines.filter((l) => /^(FAIL|not ok)\b/.test(l) || /\d+ passed, \d+ failed/.test(l));
  const out = keep.length ? keep.join("\n") : lines.slice(-EXCERPT_LINES).join("\n");
  return out.length > EXCERPT_CHARS ? out.slice(-EXCERPT_CHARS) : out;
}

/** Null when the result passes its own self-check, else why not. */
export function selfCheckProblem(o: Observed): string | null {
  const counts = selfCheckCounts(text(o.stdout));
  if (!counts) return `no "N passed, N failed" line (${statusWithSteps(o)})`;
  if (counts.failed > 0) return `${counts.passed} passed, ${counts.failed} failed`;
  if (o.status.kind !== "exit" || o.status.code !== 0) {
    return `${counts.passed} passed, 0 failed but ${statusWithSteps(o)}`;
  }
  return null;
}

/** Two streams, prepared for comparison and display. */
interface Prepared {
  equal: boolean;
  summary: string;
  subject: string;
  reference: string;
}

function excerptPair(a: string, b: string): { a: string; b: string; line: number } {
  const al = a.split("\n");
  const bl = b.split("\n");
  let i = 0;
  while (i < al.length && i < bl.length && al[i] === bl[i]) i++;
  const from = Math.max(0, i - CONTEXT_BEFORE);
  const cut = (lines: string[]) => {
    const head = from > 0 ? `… (${from} identical lines)\n` : "";
    const body = lines.slice(from, i + EXCERPT_LINES).join("\n");
    const rest = lines.length - (i + EXCERPT_LINES);
    const tail = rest > 0 ? `\n… (${rest} more lines)` : "";
    const s = head + body + tail;
    return s.length > EXCERPT_CHARS ? s.slice(0, EXCERPT_CHARS) + "\n… (cut)" : s;
  };
  return { a: cut(al), b: cut(bl), line: i + 1 };
}

function lineCount(s: string): number {
  if (s === "") return 0;
  return s.split("\n").length - (s.endsWith("\n") ? 1 : 0);
}

function prepare(
  stream: "stdout" | "stderr",
  s: Observed,
  r: Observed,
  normalisers: readonly NormaliserName[],
): Prepared {
  const sb = s[stream];
  const rb = r[stream];
  if (isText(sb) && isText(rb)) {
    const st = normalise(text(sb), normalisers, { workdir: s.workdir });
    const rt = normalise(text(rb), normalisers, { workdir: r.workdir });
    if (st === rt) return { equal: true, summary: "", subject: "", reference: "" };
    const ex = excerptPair(st, rt);
    const summary = `${stream} differs from line ${ex.line} (${s.runner} ${lineCount(st)} lines, ` +
      `${r.runner} ${lineCount(rt)} lines)`;
    return { equal: false, summary, subject: ex.a, reference: ex.b };
  }
  const at = firstDifference(sb, rb);
  if (at < 0) return { equal: true, summary: "", subject: "", reference: "" };
  const kind = isText(sb) || isText(rb) ? "" : "binary ";
  const summary = `${kind}${stream} differs from byte ${at} (${s.runner} ${sb.length} bytes, ` +
    `${r.runner} ${rb.length} bytes)`;
  const dump = (b: Uint8Array) =>
    `${b.length} bytes; from offset ${at}:\n${hexdump(b, at, 256) || "(nothing)"}`;
  return { equal: false, summary, subject: dump(sb), reference: dump(rb) };
}

function normalisersOf(c: Comparison): NormaliserName[] {
  return c.mode === "normalised" ? c.normalisers : [];
}

/**
 * Every way the subject's result differs from the reference's, judged by the case's comparison
 * mode. An empty array means the case passes.
 *
 * @example
 * ```ts
 * const diffs = compareResults(myCase, elfuseObserved, qemuObserved);
 * if (diffs.length) console.log(diffs[0].summary);
 * ```
 */
export function compareResults(c: Case, s: Observed, r: Observed): Difference[] {
  const cmp = c.compare ?? { mode: "exact" };
  const out: Difference[] = [];
  const statusDiff = () => {
    const a = statusWithSteps(s);
    const b = statusWithSteps(r);
    if (!sameStatus(s.status, r.status) || s.stepsRun !== r.stepsRun) {
      out.push({
        what: "status",
        side: "both",
        summary: `${s.runner} ${a}, ${r.runner} ${b}`,
        subject: a,
        reference: b,
      });
    }
  };
  const streamDiff = (stream: "stdout" | "stderr") => {
    const p = prepare(stream, s, r, normalisersOf(cmp));
    if (!p.equal) {
      out.push({
        what: stream,
        side: "both",
        summary: p.summary,
        subject: p.subject,
        reference: p.reference,
      });
    }
  };

  if (s.timedOut || r.timedOut) {
    statusDiff();
    if (out.length === 0) {
      out.push({ what: "status", side: "both", summary: "both timed out" });
    }
    return out;
  }

  switch (cmp.mode) {
    case "exact":
    case "normalised":
      statusDiff();
      streamDiff("stdout");
      break;
    case "self-check": {
      for (const [o, side] of [[s, "subject"], [r, "reference"]] as const) {
        const problem = selfCheckProblem(o);
        if (problem) {
          out.push({
            what: "self-check",
            side,
            summary: `${o.runner} fails its self-check: ${problem}`,
            [side]: selfCheckExcerpt(text(o.stdout)),
          });
        }
      }
      break;
    }
    case "regex": {
      statusDiff();
      const re = new RegExp(cmp.pattern, cmp.flags);
      for (const [o, side] of [[s, "subject"], [r, "reference"]] as const) {
        const t = normalise(text(o.stdout), [], { workdir: o.workdir });
        if (!re.test(t)) {
          out.push({
            what: "stdout",
            side,
            summary: `${o.runner} stdout does not match /${cmp.pattern}/${cmp.flags ?? ""}`,
            [side]: t.slice(0, EXCERPT_CHARS),
          });
        }
      }
      break;
    }
  }
  if (c.compareStderr) streamDiff("stderr");
  if (c.snapshot && (s.files ?? "") !== (r.files ?? "")) {
    const ex = excerptPair(s.files ?? "", r.files ?? "");
    out.push({
      what: "files",
      side: "both",
      summary: `working directory differs after the run, from entry ${ex.line}`,
      subject: ex.a,
      reference: ex.b,
    });
  }
  return out;
}

/**
 * How the result falls short of the case's own expectation (fixtures), if it has one.
 *
 * @example
 * ```ts
 * for (const d of checkExpected(fixtureCase, observed, "subject")) console.log(d.summary);
 * ```
 */
export function checkExpected(
  c: Case,
  o: Observed,
  side: "subject" | "reference",
): Difference[] {
  const e = c.expect;
  const out: Difference[] = [];
  if (!e) return out;
  const got = statusWithSteps(o);
  if (e.signal !== undefined) {
    if (o.status.kind !== "signal" || o.status.name !== e.signal) {
      out.push({
        what: "expected",
        side,
        summary: `${o.runner} ${got}, expected ${e.signal}`,
      });
    }
  } else if (e.exit !== undefined) {
    if (o.status.kind !== "exit" || o.status.code !== e.exit) {
      out.push({
        what: "expected",
        side,
        summary: `${o.runner} ${got}, expected exit ${e.exit}`,
      });
    }
  }
  if (e.stdout !== undefined) {
    const t = text(o.stdout);
    if (t !== e.stdout) {
      const ex = excerptPair(t, e.stdout);
      out.push({
        what: "expected",
        side,
        summary: `${o.runner} stdout is not the expected one, from line ${ex.line}`,
        subject: ex.a,
        reference: ex.b,
        labels: [o.runner, "expected"],
      });
    }
  }
  return out;
}

/**
 * True when the case can be judged on one result alone: it checks itself or states its own
 * expectation (so it still means something on a host with no reference runner).
 *
 * @example
 * ```ts
 * const alone = selectCases(corpus.cases, {}).filter(judgeableAlone);
 * ```
 */
export function judgeableAlone(c: Case): boolean {
  return (c.compare ?? { mode: "exact" }).mode === "self-check" ||
    (c.expect !== undefined &&
      (c.expect.exit !== undefined || c.expect.signal !== undefined ||
        c.expect.stdout !== undefined));
}

/**
 * How one result falls short on its own: its self-check (if it has one) and its expectation.
 *
 * @example
 * ```ts
 * const problems = checkAlone(fixtureCase, observed);
 * console.log(problems.length === 0 ? "pass" : problems[0].summary);
 * ```
 */
export function checkAlone(c: Case, o: Observed): Difference[] {
  const out: Difference[] = [];
  if ((c.compare ?? { mode: "exact" }).mode === "self-check") {
    const problem = selfCheckProblem(o);
    if (problem) {
      out.push({
        what: "self-check",
        side: "subject",
        summary: `${o.runner} fails its self-check: ${problem}`,
        subject: selfCheckExcerpt(text(o.stdout)),
      });
    }
  }
  return [...out, ...checkExpected(c, o, "subject")];
}
