/**
 * The HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched) with
 * the summary, a bar chart of elfuse/reference time ratios, the results table, and for every case
 * that differed a side-by-side diff of what differed.
 *
 * @module
 */

import { statusWithSteps } from "./compare.ts";
import { sideBySide } from "./diff.ts";
import { KNOWN_FILE } from "./known.ts";
import { ratioText, stderrTail, verdictText } from "./report_text.ts";
import { countOutcomes, summaryLine } from "./summary.ts";
import type { Difference, MatrixResult, Observed, Outcome } from "./types.ts";

/** Escapes text for HTML content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.5em 0 .5em}
.summary{font-size:1.1em;font-weight:600;margin:.5em 0}
table{border-collapse:collapse}th,td{padding:2px 8px;text-align:left;vertical-align:top}
table.results tr:nth-child(even){background:#f6f6f6}th{border-bottom:2px solid #999}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17632a}.fail{color:#b00020;font-weight:700}.known{color:#8a5a00}
.fixed{color:#b00020;font-weight:700}.skip{color:#777}
code,pre,.diff td{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
.diff{width:100%;table-layout:fixed;margin:.3em 0 1em;border:1px solid #ccc}
.diff td{white-space:pre-wrap;word-break:break-all;border-left:1px solid #ddd}
.diff th{font-weight:600;background:#eee}
.diff .change td{background:#fff4ce}.diff .left td.l{background:#ffe0e0}
.diff .right td.r{background:#e0ffe0}
.case{border-top:1px solid #ccc;padding-top:.5em}.muted{color:#777}
svg text{font:11px system-ui,sans-serif}
`;

function side(o: Observed | undefined): string {
  if (!o) return `<span class="muted">-</span>`;
  return `${esc(statusWithSteps(o))} <span class="muted">${(o.wallMs / 1000).toFixed(2)}s</span>`;
}

/** An inline SVG bar chart of the time ratios (log scale), largest first. */
export function ratioChart(r: MatrixResult): string {
  const rows = r.outcomes.filter((o) => o.ratio !== undefined && Number.isFinite(o.ratio))
    .sort((a, b) => b.ratio! - a.ratio!);
  if (rows.length === 0) return `<p class="muted">No case ran on both runners.</p>`;
  const label = 260;
  const width = 560;
  const bar = 14;
  const top = 22;
  const logs = rows.map((o) => Math.log10(Math.max(o.ratio!, 1e-3)));
  const lo = Math.min(0, Math.floor(Math.min(...logs)));
  const hi = Math.max(1, Math.ceil(Math.max(...logs)));
  const x = (l: number) => label + ((l - lo) / (hi - lo)) * width;
  const height = top + rows.length * (bar + 2) + 6;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${label + width + 70}" height="${height}" ` +
    `role="img" aria-label="time ratio ${esc(r.subject.name)}/${
      esc(r.reference?.name ?? "reference")
    } per case">`,
  ];
  for (let p = lo; p <= hi; p++) {
    const gx = x(p).toFixed(1);
    parts.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height}" stroke="#ddd"/>`,
      `<text x="${gx}" y="12" text-anchor="middle">x${
        10 ** p >= 1 ? 10 ** p : (10 ** p).toFixed(-p)
      }</text>`,
    );
  }
  const colour: Record<string, string> = {
    pass: "#4a9a5b",
    fail: "#c0392b",
    known: "#d4a017",
    fixed: "#c0392b",
    skip: "#999",
  };
  rows.forEach((o, i) => {
    const y = top + i * (bar + 2);
    const x0 = x(0);
    const x1 = x(logs[i]);
    const left = Math.min(x0, x1);
    const w = Math.max(1, Math.abs(x1 - x0));
    parts.push(
      `<text x="${label - 6}" y="${y + bar - 3}" text-anchor="end">${esc(o.case)}</text>`,
      `<rect x="${left.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${bar}" ` +
        `fill="${colour[o.verdict]}"><title>${esc(o.case)}: ${
          esc(ratioText(o.ratio))
        }</title></rect>`,
      `<text x="${(Math.max(x0, x1) + 4).toFixed(1)}" y="${y + bar - 3}">${
        esc(ratioText(o.ratio))
      }</text>`,
    );
  });
  parts.push(
    `<line x1="${x(0).toFixed(1)}" y1="${top - 4}" x2="${x(0).toFixed(1)}" y2="${height}" ` +
      `stroke="#333"/>`,
    "</svg>",
  );
  return parts.join("\n");
}

function diffTable(d: Difference, subject: string, reference: string): string {
  const rows = sideBySide(d.subject ?? "", d.reference ?? "");
  const body = rows.map((row) =>
    `<tr class="${row.kind}"><td class="l">${esc(row.left ?? "")}</td>` +
    `<td class="r">${esc(row.right ?? "")}</td></tr>`
  ).join("\n");
  return `<table class="diff"><tr><th>${esc(subject)}</th><th>${
    esc(reference)
  }</th></tr>\n${body}` +
    `</table>`;
}

function caseSection(o: Outcome, id: string, subject: string, reference: string): string {
  const parts = [
    `<section class="case" id="${id}"><h3><span class="${o.verdict}">${
      esc(verdictText(o))
    }</span> ` +
    `${esc(o.case)}</h3>`,
    `<p><code>${esc(o.command)}</code></p>`,
  ];
  if (o.reason !== o.differences[0]?.summary) parts.push(`<p>${esc(o.reason)}</p>`);
  for (const d of o.differences) {
    parts.push(`<p><b>${esc(d.what)}</b>: ${esc(d.summary)}</p>`);
    if (d.subject !== undefined || d.reference !== undefined) {
      const [left, right] = d.labels ?? [subject, reference];
      parts.push(diffTable(d, left, right));
    }
  }
  if (!o.differences.some((d) => d.what === "stderr")) {
    const a = stderrTail(o.subject, 20);
    const b = stderrTail(o.reference, 20);
    if (a || b) {
      parts.push(
        `<p><b>stderr</b> (not compared; the last lines):</p>`,
        diffTable(
          { what: "stderr", side: "both", summary: "", subject: a, reference: b },
          subject,
          reference,
        ),
      );
    }
  }
  parts.push("</section>");
  return parts.join("\n");
}

/**
 * The whole page.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("matrix-report.html", renderHtml(result));
 * ```
 */
export function renderHtml(r: MatrixResult): string {
  const c = countOutcomes(r);
  const subject = r.subject.name;
  const reference = r.reference?.name ?? "reference";
  const ids = new Map<Outcome, string>();
  r.outcomes.forEach((o, i) => {
    if (o.differences.length) ids.set(o, `case-${i}`);
  });
  const rows = r.outcomes.map((o) => {
    const id = ids.get(o);
    const name = id ? `<a href="#${id}">${esc(o.case)}</a>` : esc(o.case);
    return `<tr><td>${name}</td><td>${side(o.subject)}</td><td>${side(o.reference)}</td>` +
      `<td class="${o.verdict}" title="${esc(o.reason)}">${esc(verdictText(o))}</td>` +
      `<td class="num">${esc(ratioText(o.ratio))}</td></tr>`;
  }).join("\n");
  const stale = r.staleEntries.map((e) =>
    `<li class="fail">stale entry in ${KNOWN_FILE}: ${esc(e.case)} (reference ${
      esc(e.reference)
    }) names no case — remove or rename it</li>`
  );
  const fixed = r.outcomes.filter((o) => o.verdict === "fixed").map((o) =>
    `<li class="fixed">${esc(o.case)}: ${esc(o.reason)}</li>`
  );
  const notes = r.notes.map((n) => `<li>${esc(n)}</li>`);
  const list = [...fixed, ...stale, ...notes];
  const sections = r.outcomes.filter((o) => ids.has(o)).map((o) =>
    caseSection(o, ids.get(o)!, subject, reference)
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>elfuse matrix: ${esc(summaryLine(c))}</title>
<style>${CSS}</style></head><body>
<h1>elfuse matrix</h1>
<p>${esc(r.subject.description)} against ${esc(r.reference?.description ?? "no reference")}
on ${esc(r.host)}, started ${esc(r.startedAt)}, ${(r.wallMs / 1000).toFixed(1)}s.</p>
<p class="summary">${esc(summaryLine(c))}</p>
<p>${c.known} known difference(s) (counted as skipped), ${c.fixed} fixed known difference(s)
(counted as failed).</p>
${list.length ? `<ul>${list.join("\n")}</ul>` : ""}
<h2>Time ratio ${esc(subject)}/${esc(reference)}</h2>
${ratioChart(r)}
<h2>Results</h2>
<table class="results"><tr><th>case</th><th>${esc(subject)}</th><th>${esc(reference)}</th>
<th>verdict</th><th>time ratio</th></tr>
${rows}
</table>
<h2>Differences</h2>
${sections.length ? sections.join("\n") : `<p class="muted">None.</p>`}
</body></html>
`;
}
