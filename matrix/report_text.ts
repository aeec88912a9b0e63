/**
 * The terminal report: a table (case, elfuse result, reference result, verdict, time ratio), the
 * details of what differed, the notes, and the summary line `N passed, N failed, N skipped` last,
 * alone on its line.
 *
 * @module
 */

import { statusWithSteps } from "./compare.ts";
import { environmentLines } from "./environment.ts";
import { KNOWN_FILE } from "./known.ts";
import { text } from "./status.ts";
import { countOutcomes, summaryLine } from "./summary.ts";
import type { MatrixResult, Observed, Outcome, Verdict } from "./types.ts";

const VERDICT_TEXT: Record<Verdict, string> = {
  pass: "pass",
  fail: "FAIL",
  known: "known",
  fixed: "FIXED",
  skip: "skip",
};

/** The verdict as the table shows it. */
export function verdictText(o: Outcome): string {
  return VERDICT_TEXT[o.verdict];
}

function cell(o: Observed | undefined): string {
  if (!o) return "-";
  return `${statusWithSteps(o)} ${(o.wallMs / 1000).toFixed(2)}s`;
}

/** `x1.23`, or `-` when either side did not run. */
export function ratioText(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return "-";
  return ratio >= 100
    ? `x${ratio.toFixed(0)}`
    : ratio >= 10
    ? `x${ratio.toFixed(1)}`
    : `x${ratio.toFixed(2)}`;
}

/** The results table, one row per case. */
export function formatTable(r: MatrixResult): string {
  const head = ["case", r.subject.name, r.reference?.name ?? "reference", "verdict", "time ratio"];
  const rows = r.outcomes.map((o) => [
    o.case,
    cell(o.subject),
    cell(o.reference),
    verdictText(o),
    ratioText(o.ratio),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The last lines of a result's stderr (empty when it wrote none). */
export function stderrTail(o: Observed | undefined, lines = 5): string {
  if (!o || o.stderr.length === 0) return "";
  const tail = text(o.stderr.subarray(Math.max(0, o.stderr.length - 4096)));
  return tail.replace(/\n$/, "").split("\n").slice(-lines).join("\n");
}

function indent(s: string, prefix: string, maxLines: number): string {
  if (s === "") return `${prefix}(empty)`;
  const lines = s.replace(/\n$/, "").split("\n");
  const cut = lines.length > maxLines ? [...lines.slice(0, maxLines), "…"] : lines;
  return cut.map((l) => prefix + l).join("\n");
}

/** How much {@linkcode formatDetails} tells. */
export interface DetailOptions {
  /** Lines of each side shown per difference (default 12). */
  lines?: number;
  /** Failing cases detailed; the rest are only named (default 40). */
  failures?: number;
}

/** What differed, for every failing, fixed and known case; the skip reasons; stale entries. */
export function formatDetails(r: MatrixResult, opts: DetailOptions = {}): string {
  const maxLines = opts.lines ?? 12;
  const maxFailures = opts.failures ?? 40;
  let failures = 0;
  const untold: string[] = [];
  const out: string[] = [];
  const subject = r.subject.name;
  const reference = r.reference?.name ?? "reference";
  for (const o of r.outcomes) {
    if (o.verdict === "fail" && ++failures > maxFailures) {
      untold.push(o.case);
    } else if (o.verdict === "fail") {
      out.push(`FAIL ${o.case}: ${o.reason}`, `  command: ${o.command}`);
      if (o.reproduce) {
        out.push(`  rerun: ${o.reproduce.matrix}`);
        if (o.reproduce.subject) out.push(`  ${subject}: ${o.reproduce.subject}`);
        if (o.reproduce.reference) out.push(`  ${reference}: ${o.reproduce.reference}`);
      }
      for (const d of o.differences) {
        out.push(`  - ${d.summary}`);
        // A status difference says it all in its summary.
        if (d.what === "status") continue;
        const [left, right] = d.labels ?? [subject, reference];
        if (d.subject !== undefined) {
          out.push(`    ${left}:`, indent(d.subject, "      ", maxLines));
        }
        if (d.reference !== undefined) {
          out.push(`    ${right}:`, indent(d.reference, "      ", maxLines));
        }
      }
      if (!o.differences.some((d) => d.what === "stderr")) {
        for (const [name, obs] of [[subject, o.subject], [reference, o.reference]] as const) {
          const tail = stderrTail(obs);
          if (tail) out.push(`    ${name} stderr (not compared):`, indent(tail, "      ", 5));
        }
      }
    } else if (o.verdict === "fixed") {
      out.push(`FIXED ${o.case}: ${o.reason}`);
    } else if (o.verdict === "known") {
      out.push(
        `known ${o.case}: ${o.reason.replace(/^known: /, "")} (${o.differences[0]?.summary})`,
      );
    }
  }
  if (untold.length) {
    out.push(
      `… and ${untold.length} more failure(s), detailed in --html and --json: ${untold.join(", ")}`,
    );
  }
  for (const e of r.staleEntries) {
    out.push(
      `STALE ${KNOWN_FILE}: entry for ${JSON.stringify(e.case)} (reference ${e.reference}) ` +
        `names no case — remove or rename it`,
    );
  }
  const grouped = (label: string, pick: (o: Outcome) => string | undefined) => {
    const byReason = new Map<string, string[]>();
    for (const o of r.outcomes) {
      const reason = pick(o);
      if (reason !== undefined) byReason.set(reason, [...(byReason.get(reason) ?? []), o.case]);
    }
    for (const [reason, names] of byReason) {
      const shown = names.length > 6
        ? `${names.slice(0, 6).join(", ")} and ${names.length - 6} more`
        : names.join(", ");
      out.push(`${label} ${names.length}: ${reason} (${shown})`);
    }
  };
  grouped("alone", (o) => (o.verdict === "pass" ? o.judgedAlone : undefined));
  grouped("skip", (o) => (o.verdict === "skip" ? o.reason : undefined));
  return out.join("\n");
}

/**
 * The whole text report, ending with the summary line.
 *
 * @example
 * ```ts
 * console.log(renderText(result)); // ... "80 passed, 0 failed, 3 skipped"
 * ```
 */
export function renderText(r: MatrixResult, opts: DetailOptions = {}): string {
  const c = countOutcomes(r);
  const parts = [
    `subject: ${r.subject.description}; reference: ${r.reference?.description ?? "none"}`,
    ...(r.environment ? environmentLines(r.environment) : []),
    formatTable(r),
  ];
  const details = formatDetails(r, opts);
  if (details) parts.push(details);
  for (const n of r.notes) parts.push(`note: ${n}`);
  const extra: string[] = [];
  if (c.known) extra.push(`${c.known} known difference(s) counted as skipped`);
  if (c.fixed) extra.push(`${c.fixed} fixed known difference(s) counted as failed`);
  if (r.staleEntries.length) {
    extra.push(`${r.staleEntries.length} stale entry(ies) counted as failed`);
  }
  if (extra.length) parts.push(extra.join("; "));
  parts.push(`total ${(r.wallMs / 1000).toFixed(1)}s`, summaryLine(c));
  return parts.join("\n") + "\n";
}
