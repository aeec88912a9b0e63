/**
 * The HTML report: one self-contained page (inline CSS and SVG, a few lines of inline script,
 * nothing fetched). From the top: the summary, the environment the run was made in, a legend,
 * filters by verdict and a search by name, then every case grouped as failures first, then known
 * differences, then passes, then skipped cases. Each case opens to what differed (a diff coloured
 * by meaning: lines elfuse lacks, lines it has extra), how a killed run ended, elfuse's stderr, and
 * the command lines that run it again. A chart of elfuse/reference time ratios closes the page.
 * Without JavaScript everything is shown.
 *
 * @module
 */

import { statusWithSteps } from "./compare.ts";
import { sideBySide } from "./diff.ts";
import { ENVIRONMENT_LABELS } from "./environment.ts";
import { KNOWN_FILE } from "./known.ts";
import { ratioText, verdictText } from "./report_text.ts";
import { text } from "./status.ts";
import { countOutcomes, summaryLine } from "./summary.ts";
import type { Difference, MatrixResult, Observed, Outcome, Verdict } from "./types.ts";

/** Escapes text for HTML content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
html{font-size:14px}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:1.2em 1.5em 3em;color:#1d1d1f;
background:#fff;max-width:1500px}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .4em}
.sub{color:#555;margin:0 0 .8em}
.summary{font-size:1.25em;font-weight:650;margin:.3em 0 .2em}
.summary .n-fail{color:#b3261e}.summary .n-pass{color:#1b6b35}.summary .n-skip{color:#666}
table.env{border-collapse:collapse;font-size:13px;margin:.3em 0}
table.env th{text-align:left;color:#555;font-weight:500;padding:1px 12px 1px 0;white-space:nowrap;
vertical-align:top}
table.env td{padding:1px 0;word-break:break-word}
ul.notes{margin:.3em 0;padding-left:1.2em}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.4em;font-size:13px;color:#333;margin:.6em 0;
padding:.6em .8em;background:#f6f6f7;border-radius:6px}
.legend span.item{white-space:nowrap}
.controls{position:sticky;top:0;background:#fff;padding:.5em 0 0;border-bottom:1px solid #ddd;
display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;z-index:1}
.controls label{white-space:nowrap;cursor:pointer}
.controls input[type=search]{font:inherit;padding:3px 8px;min-width:18em;border:1px solid #aaa;
border-radius:4px}
.badge{display:inline-block;min-width:4.2em;text-align:center;font-size:12px;font-weight:650;
border-radius:4px;padding:0 .4em;color:#fff}
.badge.fail,.badge.fixed{background:#b3261e}.badge.known{background:#a66300}
.badge.pass{background:#1b6b35}.badge.skip{background:#777}
.tag{font-size:11px;border:1px solid #999;border-radius:3px;padding:0 .3em;color:#444;margin-left:.3em}
details.case{border-bottom:1px solid #e4e4e4}
details.case>summary,.colhead{display:grid;grid-template-columns:.8rem 5.2rem minmax(14rem,22rem)
minmax(9rem,13rem) minmax(9rem,13rem) 4.5rem 1fr;gap:.8rem;align-items:baseline;padding:4px 2px}
details.case>summary{cursor:pointer;list-style:none}
details.case>summary::-webkit-details-marker{display:none}
details.case>summary::before{content:"▸";color:#888}
details.case[open]>summary::before{content:"▾"}
.colhead{width:100%;font-size:12px;color:#555;font-weight:600;padding-top:.3em}
.colhead .ratio{text-align:right}
details.case>summary:hover{background:#f3f6fb}
details.case[open]>summary{background:#eef2f8}
summary .name{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
summary .run{font-size:13px;color:#333}summary .run small{color:#777}
summary .ratio{font-size:13px;text-align:right;font-variant-numeric:tabular-nums;color:#444}
summary .why{font-size:13px;color:#444;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.body{padding:.3em 0 1em 6em}
.body h4{font-size:13px;margin:.9em 0 .2em;color:#333}
.body p{margin:.2em 0}
pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#f6f6f7;padding:.5em .7em;
margin:.2em 0;white-space:pre-wrap;word-break:break-all;border-radius:4px;max-height:28em;
overflow:auto}
.diff{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;border:1px solid #ddd;border-radius:4px;
margin:.2em 0;max-height:32em;overflow:auto}
.diff div{white-space:pre-wrap;word-break:break-all;padding:0 .6em 0 2.2em;text-indent:-1.6em}
.diff .ctx{color:#555}.diff .gap{color:#888;background:#fafafa;font-style:italic}
.diff .missing{background:#fde4e1}.diff .extra{background:#dcebfd}
.diff .missing::before{content:"−  ";color:#b3261e;font-weight:700}
.diff .extra::before{content:"+  ";color:#1a5fb4;font-weight:700}
.diff .ctx::before,.diff .gap::before{content:"   "}
.key-missing{background:#fde4e1;padding:0 .3em}.key-extra{background:#dcebfd;padding:0 .3em}
.killed{color:#b3261e;font-weight:600}
.muted{color:#777}
svg text{font:11px system-ui,sans-serif}
@media (max-width:1000px){
details.case>summary{grid-template-columns:.8rem 5.2rem 1fr 1fr 4rem;
grid-template-areas:"c b n n r" ". . s f ." ". . w w w";row-gap:0}
details.case>summary::before{grid-area:c}summary .badge{grid-area:b}summary .name{grid-area:n}
summary .ratio{grid-area:r}summary .subj{grid-area:s}summary .ref{grid-area:f}
summary .why{grid-area:w}summary .run::before{content:attr(data-label) ": ";color:#777}
.colhead{display:none}.body{padding-left:1em}}
`;

/** Filters by verdict and search by name; the page works (all shown) without it. */
const SCRIPT = `
const boxes = [...document.querySelectorAll("input[data-verdict]")];
const search = document.getElementById("search");
function apply() {
  const on = new Set(boxes.filter((b) => b.checked).map((b) => b.dataset.verdict));
  const term = search.value.trim().toLowerCase();
  let shown = 0;
  for (const c of document.querySelectorAll("details.case")) {
    c.hidden = !(on.has(c.dataset.verdict) && c.dataset.name.includes(term));
    if (!c.hidden) shown++;
  }
  for (const g of document.querySelectorAll("section.group")) {
    g.hidden = !g.querySelector("details.case:not([hidden])");
  }
  document.getElementById("shown").textContent = shown + " shown";
}
boxes.forEach((b) => b.addEventListener("change", apply));
search.addEventListener("input", apply);
apply();
`;

/** The groups of the page, in order, and the verdicts each holds. */
const GROUPS: { title: string; verdicts: Verdict[]; open: boolean }[] = [
  { title: "Failures", verdicts: ["fail", "fixed"], open: true },
  { title: "Known differences", verdicts: ["known"], open: false },
  { title: "Passed", verdicts: ["pass"], open: false },
  { title: "Skipped", verdicts: ["skip"], open: false },
];

const VERDICT_MEANING: Record<Verdict, string> = {
  fail: "elfuse differs from the reference or its own expectation",
  fixed: `a known difference that no longer differs: remove it from ${KNOWN_FILE}`,
  known: `an expected difference, listed with its reason in ${KNOWN_FILE}`,
  pass: "same result",
  skip: "not run here, with the reason",
};

/** How a run ended, in words: exits, signals and timeouts with the time they took. */
export function endText(o: Observed): { text: string; killed: boolean } {
  const took = `${(o.wallMs / 1000).toFixed(2)} s`;
  const steps = o.stepsRun < o.stepsTotal ? ` (at step ${o.stepsRun} of ${o.stepsTotal})` : "";
  switch (o.status.kind) {
    case "timeout":
      return {
        text: `killed: timed out after ${o.status.seconds} s (ran ${took})${steps}`,
        killed: true,
      };
    case "signal":
      return { text: `killed by ${o.status.name} after ${took}${steps}`, killed: true };
    case "error":
      return { text: `could not run: ${o.status.message}`, killed: true };
    case "exit":
      return { text: `exit ${o.status.code} after ${took}${steps}`, killed: false };
  }
}

function cell(o: Observed | undefined, runner: string, side: "subj" | "ref"): string {
  const open = `<span class="run ${side}" data-label="${esc(runner)}">`;
  if (!o) return `${open}<span class="muted">not run</span></span>`;
  return `${open}${esc(statusWithSteps(o))} <small>${(o.wallMs / 1000).toFixed(2)}s</small></span>`;
}

/** Lines of context kept around each change in a diff. */
const CONTEXT = 3;

/**
 * A unified diff of `subject` against `reference`, coloured by meaning: `missing` lines are the
 * reference's (or the expectation's) that the subject lacks, `extra` lines the subject's that the
 * reference lacks. Long identical stretches are folded.
 */
export function diffHtml(subject: string, reference: string): string {
  const rows = sideBySide(subject, reference);
  const lines: { kind: "ctx" | "missing" | "extra"; text: string }[] = [];
  for (const r of rows) {
    if (r.kind === "same") lines.push({ kind: "ctx", text: r.left ?? "" });
    else {
      if (r.right !== undefined) lines.push({ kind: "missing", text: r.right });
      if (r.left !== undefined) lines.push({ kind: "extra", text: r.left });
    }
  }
  // Changed lines come out pairwise (missing, extra, missing, extra): put each run's missing
  // lines first, as diff -u does.
  const ordered: typeof lines = [];
  for (let i = 0; i < lines.length;) {
    if (lines[i].kind === "ctx") {
      ordered.push(lines[i++]);
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j].kind !== "ctx") j++;
    const run = lines.slice(i, j);
    ordered.push(
      ...run.filter((l) => l.kind === "missing"),
      ...run.filter((l) => l.kind === "extra"),
    );
    i = j;
  }
  const keep = ordered.map((l, i) =>
    l.kind !== "ctx" ||
    ordered.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1).some((m) => m.kind !== "ctx")
  );
  const out: string[] = [];
  for (let i = 0; i < ordered.length;) {
    if (keep[i]) {
      out.push(`<div class="${ordered[i].kind}">${esc(ordered[i].text) || " "}</div>`);
      i++;
      continue;
    }
    let j = i;
    while (j < ordered.length && !keep[j]) j++;
    out.push(`<div class="gap">… ${j - i} identical line(s)</div>`);
    i = j;
  }
  return `<div class="diff">${out.join("")}</div>`;
}

function differenceHtml(d: Difference, subject: string, reference: string): string {
  const parts = [`<h4>${esc(d.what)}: ${esc(d.summary)}</h4>`];
  const [left, right] = d.labels ?? [subject, reference];
  if (d.subject !== undefined && d.reference !== undefined) {
    parts.push(
      `<p class="muted"><span class="key-missing">− in ${esc(right)}, not in ${
        esc(left)
      }</span> <span class="key-extra">+ in ${esc(left)}, not in ${esc(right)}</span></p>`,
      diffHtml(d.subject, d.reference),
    );
  } else if (d.subject !== undefined || d.reference !== undefined) {
    const who = d.subject !== undefined ? left : right;
    parts.push(
      `<p class="muted">${esc(who)}'s output:</p><pre>${esc(d.subject ?? d.reference!)}</pre>`,
    );
  }
  return parts.join("\n");
}

function stderrHtml(o: Observed | undefined, runner: string, lines: number): string {
  if (!o || o.stderr.length === 0) return "";
  const all = text(o.stderr.subarray(Math.max(0, o.stderr.length - 16384))).replace(/\n$/, "");
  const split = all.split("\n");
  const shown = split.slice(-lines).join("\n");
  const cut = split.length > lines ? ` (last ${lines} of ${split.length} lines)` : "";
  return `<h4>${esc(runner)}'s stderr${cut}</h4><pre>${esc(shown)}</pre>`;
}

function caseHtml(o: Outcome, id: string, subject: string, reference: string, open: boolean) {
  const body: string[] = [`<p><b>case</b> <code>${esc(o.command)}</code></p>`];
  if (o.reason && o.reason !== o.differences[0]?.summary) {
    body.push(`<p><b>${o.verdict === "skip" ? "skipped" : "why"}</b>: ${esc(o.reason)}</p>`);
  }
  if (o.judgedAlone && o.reason !== o.judgedAlone) body.push(`<p>${esc(o.judgedAlone)}</p>`);
  for (const [name, obs] of [[subject, o.subject], [reference, o.reference]] as const) {
    if (!obs) continue;
    const end = endText(obs);
    body.push(
      `<p${end.killed ? ' class="killed"' : ""}><b>${esc(name)}</b>: ${esc(end.text)}</p>`,
    );
  }
  for (const d of o.differences) {
    if (d.what === "status") continue; // said just above
    body.push(differenceHtml(d, subject, reference));
  }
  if (o.verdict !== "pass" || o.judgedAlone) {
    body.push(stderrHtml(o.subject, subject, 40));
    if (!o.differences.some((d) => d.what === "stderr")) {
      body.push(stderrHtml(o.reference, reference, 10));
    }
  }
  if (o.reproduce) {
    const lines = [`# the matrix, for this case alone\n${o.reproduce.matrix}`];
    if (o.reproduce.subject) lines.push(`# ${subject}\n${o.reproduce.subject}`);
    if (o.reproduce.reference) lines.push(`# ${reference}\n${o.reproduce.reference}`);
    body.push(
      `<h4>Run it again</h4><pre>${esc(lines.join("\n"))}</pre>` +
        (o.reproduce.note ? `<p class="muted">${esc(o.reproduce.note)}</p>` : ""),
    );
  }
  const why = o.verdict === "pass" ? o.judgedAlone ?? "" : o.reason.replace(/^known: /, "");
  return `<details class="case" id="${id}" data-verdict="${o.verdict}" data-name="${
    esc(o.case.toLowerCase())
  }"${open ? " open" : ""}><summary><span class="badge ${o.verdict}">${
    esc(verdictText(o))
  }</span><span class="name">${esc(o.case)}${
    o.judgedAlone ? '<span class="tag">alone</span>' : ""
  }</span>${cell(o.subject, subject, "subj")}${
    cell(o.reference, reference, "ref")
  }<span class="ratio">${esc(ratioText(o.ratio))}</span><span class="why" title="${esc(why)}">${
    esc(why.split("\n")[0])
  }</span></summary>` +
    `<div class="body">${body.filter(Boolean).join("\n")}</div></details>`;
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
  const env = r.environment;
  const envRows = [
    ["subject", r.subject.description],
    ["reference", r.reference?.description ?? "none"],
    ...(env
      ? (Object.keys(ENVIRONMENT_LABELS) as (keyof typeof env)[]).map((
        k,
      ) => [ENVIRONMENT_LABELS[k], env[k]])
      : [["host", r.host]]),
    ["started", `${r.startedAt}, took ${(r.wallMs / 1000).toFixed(1)} s`],
  ].map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("\n");
  const stale = r.staleEntries.map((e) =>
    `<li class="killed">stale entry in ${KNOWN_FILE}: ${esc(e.case)} (reference ${
      esc(e.reference)
    }) names no case — remove or rename it</li>`
  );
  const notes = [...stale, ...r.notes.map((n) => `<li>${esc(n)}</li>`)];
  const count = (v: Verdict) => r.outcomes.filter((o) => o.verdict === v).length;
  const filters = (["fail", "fixed", "known", "pass", "skip"] as Verdict[]).map((v) =>
    `<label title="${
      esc(VERDICT_MEANING[v])
    }"><input type="checkbox" data-verdict="${v}" checked> ` +
    `<span class="badge ${v}">${esc(verdictText({ verdict: v } as Outcome))}</span> ${
      count(v)
    }</label>`
  ).join("\n");
  const legend = (["fail", "fixed", "known", "pass", "skip"] as Verdict[]).map((v) =>
    `<span class="item"><span class="badge ${v}">${
      esc(verdictText({ verdict: v } as Outcome))
    }</span> ${esc(VERDICT_MEANING[v])}</span>`
  ).concat([
    `<span class="item"><span class="tag">alone</span> judged on ${
      esc(subject)
    } alone (its self-check or expected output): the reference cannot run it, or has a known bug there</span>`,
    `<span class="item">in diffs: <span class="key-missing">− a line ${
      esc(subject)
    } lacks</span> <span class="key-extra">+ a line ${esc(subject)} has extra</span></span>`,
    `<span class="item">ratio: ${esc(subject)}'s wall time / ${esc(reference)}'s</span>`,
  ]).join("\n");
  let index = 0;
  const groups = GROUPS.map((g) => {
    const cases = r.outcomes.filter((o) => g.verdicts.includes(o.verdict));
    if (cases.length === 0) return "";
    const items = cases.map((o) => caseHtml(o, `case-${index++}`, subject, reference, g.open));
    return `<section class="group"><h2>${esc(g.title)} (${cases.length})</h2>\n${
      items.join("\n")
    }</section>`;
  }).join("\n");
  const failing = c.failed > 0;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${failing ? "FAILED" : "passed"}: elfuse matrix, ${esc(summaryLine(c))}</title>
<style>${CSS}</style></head><body>
<h1>elfuse matrix</h1>
<p class="sub">${esc(r.subject.description)} against ${
    esc(r.reference?.description ?? "no reference")
  }</p>
<p class="summary"><span class="n-pass">${c.passed} passed</span>, <span class="${
    failing ? "n-fail" : ""
  }">${c.failed} failed</span>, <span class="n-skip">${c.skipped} skipped</span></p>
<p class="muted">${c.known} known difference(s) counted as skipped; ${c.fixed} fixed known
difference(s) and ${r.staleEntries.length} stale entry(ies) counted as failed.</p>
<table class="env">${envRows}</table>
${notes.length ? `<ul class="notes">${notes.join("\n")}</ul>` : ""}
<div class="legend">${legend}</div>
<div class="controls">${filters}
<input type="search" id="search" placeholder="search case names" aria-label="search case names">
<span class="muted" id="shown"></span>
<div class="colhead" aria-hidden="true"><span></span><span>verdict</span><span>case</span><span>${
    esc(subject)
  }</span><span>${esc(reference)}</span><span class="ratio">ratio</span><span>why</span></div>
</div>
${groups}
<h2>Time ratio ${esc(subject)}/${esc(reference)}</h2>
<details><summary>chart of every case that ran on both (${
    r.outcomes.filter((o) => o.ratio !== undefined).length
  })</summary>
${ratioChart(r)}
</details>
<script>${SCRIPT}</script>
</body></html>
`;
}
