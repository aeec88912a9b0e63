/**
 * The JUnit XML report (`--junit FILE`), the format CI systems read: one `<testsuite>` per case
 * group (fixture, busybox, sh, debian), one `<testcase>` per case. A failed or "fixed" case has a
 * `<failure>` with what differed; a skipped case and a known difference have `<skipped>` with the
 * reason; the subject's stderr goes to `<system-err>`. The run's environment becomes
 * `<properties>`.
 *
 * @module
 */

import { ENVIRONMENT_LABELS } from "./environment.ts";
import { KNOWN_FILE } from "./known.ts";
import { text } from "./status.ts";
import { countOutcomes, summaryLine } from "./summary.ts";
import type { MatrixResult, Outcome } from "./types.ts";

/** Characters XML 1.0 forbids (controls other than tab, newline, carriage return). */
// deno-lint-ignore no-control-regex
const NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;

/** Escapes text for XML content and attribute values; forbidden characters become `\xNN`. */
export function xmlEscape(s: string): string {
  return s.replace(NOT_XML, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Characters of output kept per element (CI systems choke on huge reports). */
const KEEP = 16 * 1024;

function cut(s: string): string {
  return s.length > KEEP ? `${s.slice(0, KEEP)}\n… (${s.length - KEEP} more characters)` : s;
}

function failureBody(o: Outcome, subject: string, reference: string): string {
  const lines = [o.reason, `command: ${o.command}`];
  for (const d of o.differences) {
    lines.push(`- ${d.summary}`);
    const [left, right] = d.labels ?? [subject, reference];
    if (d.subject !== undefined) lines.push(`  ${left}:`, d.subject);
    if (d.reference !== undefined) lines.push(`  ${right}:`, d.reference);
  }
  if (o.reproduce?.subject) lines.push(`reproduce (${subject}): ${o.reproduce.subject}`);
  if (o.reproduce?.reference) lines.push(`reproduce (${reference}): ${o.reproduce.reference}`);
  if (o.reproduce) lines.push(`rerun: ${o.reproduce.matrix}`);
  return cut(lines.join("\n"));
}

function testcase(o: Outcome, subject: string, reference: string): string {
  const seconds = ((o.subject?.wallMs ?? 0) + (o.reference?.wallMs ?? 0)) / 1000;
  const open =
    `    <testcase classname="matrix.${xmlEscape(o.group)}" name="${xmlEscape(o.case)}" ` +
    `time="${seconds.toFixed(3)}"`;
  const inner: string[] = [];
  if (o.verdict === "fail" || o.verdict === "fixed") {
    inner.push(
      `      <failure message="${xmlEscape(o.reason.split("\n")[0])}" type="${o.verdict}">` +
        `${xmlEscape(failureBody(o, subject, reference))}</failure>`,
    );
  } else if (o.verdict === "skip" || o.verdict === "known") {
    const why = o.verdict === "known" ? `known difference (${KNOWN_FILE}): ${o.reason}` : o.reason;
    inner.push(`      <skipped message="${xmlEscape(why.split("\n")[0])}"/>`);
  }
  if (o.judgedAlone) inner.push(`      <system-out>${xmlEscape(o.judgedAlone)}</system-out>`);
  if (o.subject && o.subject.stderr.length > 0 && o.verdict !== "pass") {
    inner.push(`      <system-err>${xmlEscape(cut(text(o.subject.stderr)))}</system-err>`);
  }
  return inner.length ? `${open}>\n${inner.join("\n")}\n    </testcase>` : `${open}/>`;
}

/**
 * The run as JUnit XML.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("matrix.xml", renderJunit(result));
 * ```
 */
export function renderJunit(r: MatrixResult): string {
  const subject = r.subject.name;
  const reference = r.reference?.name ?? "reference";
  const groups = new Map<string, Outcome[]>();
  for (const o of r.outcomes) groups.set(o.group, [...(groups.get(o.group) ?? []), o]);
  const env = r.environment;
  const pairs: [string, string][] = [
    ["subject", r.subject.description],
    ["reference", r.reference?.description ?? "none"],
    ...(env
      ? (Object.keys(ENVIRONMENT_LABELS) as (keyof typeof env)[]).map((k) =>
        [ENVIRONMENT_LABELS[k], env[k]] as [string, string]
      )
      : []),
    ...r.notes.map((n) => ["note", n] as [string, string]),
  ];
  const props = pairs.map(([name, value]) =>
    `      <property name="${xmlEscape(name)}" value="${xmlEscape(value)}"/>`
  );
  const suites = [...groups].map(([group, outcomes]) => {
    const failures = outcomes.filter((o) => o.verdict === "fail" || o.verdict === "fixed").length;
    const skipped = outcomes.filter((o) => o.verdict === "skip" || o.verdict === "known").length;
    const seconds = outcomes.reduce(
      (n, o) => n + (o.subject?.wallMs ?? 0) + (o.reference?.wallMs ?? 0),
      0,
    ) / 1000;
    return `  <testsuite name="matrix.${xmlEscape(group)}" tests="${outcomes.length}" ` +
      `failures="${failures}" errors="0" skipped="${skipped}" time="${seconds.toFixed(3)}" ` +
      `timestamp="${xmlEscape(r.startedAt.replace(/\.\d+Z$/, ""))}">\n` +
      `    <properties>\n${props.join("\n")}\n    </properties>\n` +
      `${outcomes.map((o) => testcase(o, subject, reference)).join("\n")}\n  </testsuite>`;
  });
  const stale = r.staleEntries.map((e) =>
    `    <testcase classname="matrix.known_differences" name="${xmlEscape(e.case)}" time="0">\n` +
    `      <failure message="stale entry in ${KNOWN_FILE}: names no case" type="stale"/>\n` +
    `    </testcase>`
  );
  if (stale.length) {
    suites.push(
      `  <testsuite name="matrix.known_differences" tests="${stale.length}" ` +
        `failures="${stale.length}" errors="0" skipped="0" time="0">\n${stale.join("\n")}\n` +
        `  </testsuite>`,
    );
  }
  const c = countOutcomes(r);
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="elfuse matrix: ${xmlEscape(summaryLine(c))}" ` +
    `tests="${r.outcomes.length + r.staleEntries.length}" failures="${c.failed}" errors="0" ` +
    `skipped="${c.skipped}" time="${(r.wallMs / 1000).toFixed(3)}">\n${suites.join("\n")}\n` +
    `</testsuites>\n`;
}
